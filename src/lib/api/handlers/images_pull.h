/* POST /images/create?fromImage= (registry pull), dockerd's JSON progress stream. */
#pragma once
#include "api/http.h"

struct berth_daemon;
void berth_api_image_pull(struct berth_daemon *d, struct berth_http_req *r, struct berth_http_conn *c);
