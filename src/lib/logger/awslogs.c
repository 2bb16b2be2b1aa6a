#include "logger_internal.h"
const struct berth_log_driver berth_log_driver_awslogs = {
	.name = "awslogs",
	.not_implemented = "the awslogs log driver is not implemented yet",
};
