/* The CLI's registry credentials (src/berth/credentials.c): docker's
 * config.json, server keys, X-Registry-Auth. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/berth/credentials.h"
#include "common/base64.h"
#include "common/util.h"
#include "tap.h"

int main(void)
{
	struct tap tt = {0}, *t = &tt;
	char dir[] = "/tmp/berth-test-cred.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	setenv("BERTH_CONFIG", dir, 1);
	char *k = berth_cred_server_key("");
	TAP_STREQ(t, k, "https://index.docker.io/v1/", "default server");
	free(k);
	k = berth_cred_server_key("docker.io");
	TAP_STREQ(t, k, "https://index.docker.io/v1/", "docker.io");
	free(k);
	k = berth_cred_server_key("https://127.0.0.1:5000/v2/");
	TAP_STREQ(t, k, "127.0.0.1:5000", "ConvertToHostname");
	free(k);

	struct berth_error err = {0};
	struct berth_cred c = {.username = "alice", .password = "pw:x"};
	char *where = NULL;
	TAP_OK(t, berth_cred_store("127.0.0.1:5000", &c, &where, &err) == 0 && where, "store in the file");
	free(where);
	struct berth_cred got = {0};
	TAP_OK(t, berth_cred_get("127.0.0.1:5000", &got, &err) == 1, "get");
	TAP_STREQ(t, got.username, "alice", "username back");
	TAP_STREQ(t, got.password, "pw:x", "password back");
	berth_cred_free(&got);
	TAP_OK(t, berth_cred_logged_in("127.0.0.1:5000"), "logged in");

	/* X-Registry-Auth for an image on that registry */
	char *h = berth_cred_registry_auth_header("127.0.0.1:5000/a/b:1");
	char *js = h ? berth_base64_decode(h, NULL) : NULL;
	TAP_OK(t, js && strstr(js, "\"username\":\"alice\"") && strstr(js, "\"password\":\"pw:x\""), "header has them");
	free(h);
	free(js);
	h = berth_cred_registry_auth_header("busybox");
	TAP_STREQ(t, h, "e30=", "nothing stored: {}");
	free(h);

	/* identity token: no password kept */
	struct berth_cred tc = {.username = "bob", .password = "secret", .identitytoken = "tok123"};
	TAP_OK(t, berth_cred_store("reg.example:443", &tc, &where, &err) == 0 && !where, "token stored, no warning");
	char *file = berth_cred_config_path(), *data = NULL;
	size_t len = 0;
	TAP_OK(t,
	       berth_read_file(file, &data, &len, 1 << 20, &err) == 0 && !strstr(data, "secret") &&
		       strstr(data, "tok123"),
	       "the password is not in the file");
	free(data);
	TAP_OK(t,
	       berth_cred_get("reg.example:443", &got, &err) == 1 && got.identitytoken &&
		       !strcmp(got.identitytoken, "tok123") && !got.password,
	       "token back");
	berth_cred_free(&got);

	/* an entry written by another tool as https://host/ */
	const char *cfg = "{\"auths\":{\"https://other.example:5000/v1/\":{\"auth\":\"dTpw\"}},\"x-keep\":1}";
	berth_write_file_atomic(file, cfg, strlen(cfg), 0600, &err);
	TAP_OK(t, berth_cred_get("other.example:5000", &got, &err) == 1 && got.username && !strcmp(got.username, "u"),
	       "https:// spelling matched");
	berth_cred_free(&got);
	TAP_OK(t, berth_cred_erase("other.example:5000", &err) == 0, "erase does not find the long spelling (docker)");
	c.username = "alice";
	TAP_OK(t, berth_cred_store("127.0.0.1:5000", &c, &where, &err) == 0, "store again");
	free(where);
	TAP_OK(t, berth_read_file(file, &data, &len, 1 << 20, &err) == 0 && strstr(data, "x-keep"), "other keys kept");
	free(data);
	TAP_OK(t, berth_cred_erase("127.0.0.1:5000", &err) == 1 && !berth_cred_logged_in("127.0.0.1:5000"), "erase");
	free(file);
	berth_rm_rf(dir, NULL);
	return TAP_DONE(t);
}
