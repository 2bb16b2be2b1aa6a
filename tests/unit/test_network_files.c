/* network/files.c: a container's /etc/hostname, /etc/hosts, /etc/resolv.conf. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "network/network.h"
#include "tap.h"

static char *slurp(const char *p)
{
	char *d = NULL;
	berth_read_file(p, &d, NULL, 1 << 20, NULL);
	return d;
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	char dir[] = "/tmp/test_network_files.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char hn[64], hs[64], rc[64];
	snprintf(hn, sizeof(hn), "%s/hostname", dir);
	snprintf(hs, sizeof(hs), "%s/hosts", dir);
	snprintf(rc, sizeof(rc), "%s/resolv.conf", dir);
	json_t *extra = json_loads("[\"db:10.1.2.3\"]", 0, NULL);
	json_t *dns = json_loads("[\"10.9.9.9\"]", 0, NULL);
	json_t *search = json_loads("[\"example.org\"]", 0, NULL);
	json_t *opts = json_loads("[\"ndots:3\"]", 0, NULL);
	struct berth_net_files f = {.hostname_path = hn,
				    .hosts_path = hs,
				    .resolv_conf_path = rc,
				    .hostname = "web1",
				    .ipv4 = "172.17.0.2",
				    .extra_hosts = extra,
				    .dns = dns,
				    .dns_search = search,
				    .dns_options = opts};
	TAP_OK(&t, berth_net_files_write(&f, &err) == 0, "files written");
	char *s = slurp(hn);
	TAP_STREQ(&t, s, "web1\n", "hostname");
	free(s);
	s = slurp(hs);
	TAP_OK(&t, s && !strncmp(s, "127.0.0.1\tlocalhost\n", 20), "hosts starts with localhost");
	TAP_OK(&t, s && strstr(s, "10.1.2.3\tdb\n"), "--add-host line");
	TAP_OK(&t, s && strstr(s, "172.17.0.2\tweb1\n"), "the container's own address last, as docker");
	free(s);
	s = slurp(rc);
	TAP_OK(&t, s && strstr(s, "nameserver 10.9.9.9\n") && !strstr(s, "8.8.8.8"), "--dns replaces the servers");
	TAP_OK(&t, s && strstr(s, "search example.org\n"), "--dns-search");
	TAP_OK(&t, s && strstr(s, "options ndots:3\n"), "--dns-option");
	free(s);
	/* user networks: the embedded server */
	f.embedded_dns = true;
	f.dns = NULL;
	f.dns_options = NULL;
	TAP_OK(&t, berth_net_files_write(&f, &err) == 0, "embedded DNS files");
	s = slurp(rc);
	TAP_OK(&t, s && strstr(s, "nameserver 127.0.0.11\n") && strstr(s, "options ndots:0\n"),
	       "nameserver 127.0.0.11 and ndots:0");
	free(s);
	/* --domainname */
	f.domainname = "corp";
	berth_net_files_write(&f, &err);
	s = slurp(hs);
	TAP_OK(&t, s && strstr(s, "172.17.0.2\tweb1.corp web1\n"), "FQDN entry with a domain");
	free(s);
	json_decref(extra);
	json_decref(dns);
	json_decref(search);
	json_decref(opts);
	berth_rm_rf(dir, NULL);
	return TAP_DONE(&t);
}
