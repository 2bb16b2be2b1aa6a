/* network/: port specs (PortBindings/ExposedPorts) and the host port allocator. */
#include <stdlib.h>
#include <string.h>

#include "network/net_int.h"
#include "tap.h"

static int maps(const char *pb, const char *ex, bool all, struct berth_port_map **m, size_t *n, struct berth_error *err)
{
	json_t *b = pb ? json_loads(pb, 0, NULL) : NULL, *e = ex ? json_loads(ex, 0, NULL) : NULL;
	int rc = berth_port_maps_from(b, e, all, m, n, err);
	json_decref(b);
	json_decref(e);
	return rc;
}

int main(void)
{
	struct tap t = {0};
	struct berth_error err = {0};
	int port;
	char proto[8];
	TAP_OK(&t, berth_port_key_parse("80/tcp", &port, proto, sizeof(proto), &err) == 0 && port == 80, "80/tcp");
	TAP_OK(&t, berth_port_key_parse("53/udp", &port, proto, sizeof(proto), &err) == 0 && !strcmp(proto, "udp"),
	       "53/udp");
	TAP_OK(&t, berth_port_key_parse("9/sctp", &port, proto, sizeof(proto), &err) == 0, "sctp");
	TAP_OK(&t, berth_port_key_parse("80", &port, proto, sizeof(proto), &err) == 0 && !strcmp(proto, "tcp"),
	       "no proto: tcp");
	TAP_OK(&t, berth_port_key_parse("80/icmp", &port, proto, sizeof(proto), &err) < 0, "unknown proto refused");
	TAP_STREQ(&t, err.msg, "invalid proto: icmp", "message");
	TAP_OK(&t, berth_port_key_parse("abc/tcp", &port, proto, sizeof(proto), &err) < 0, "non-numeric refused");
	TAP_OK(&t, berth_port_key_parse("70000/tcp", &port, proto, sizeof(proto), &err) < 0, "> 65535 refused");

	struct berth_port_map *m = NULL;
	size_t n = 0;
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}", NULL, false, &m, &n, &err) == 0 &&
		       n == 1 && m[0].ctr_port == 80 && m[0].host_port == 8080 && m[0].host_port_end == 8080 &&
		       !m[0].host_ip[0],
	       "-p 8080:80");
	free(m);
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}", NULL, false, &m, &n, &err) ==
			       0 &&
		       n == 1 && !strcmp(m[0].host_ip, "127.0.0.1"),
	       "-p 127.0.0.1:8080:80");
	free(m);
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostIp\":\"0:0::1\",\"HostPort\":\"8080\"}]}", NULL, false, &m, &n, &err) == 0 &&
		       n == 1 && !strcmp(m[0].host_ip, "::1"),
	       "-p [::1]:8080:80 (canonical text)");
	free(m);
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}", NULL, false, &m, &n, &err) == 0 &&
		       n == 1 && m[0].host_port == 0,
	       "-p 127.0.0.1::80: ephemeral");
	free(m);
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostPort\":\"8000-8010\"}]}", NULL, false, &m, &n, &err) == 0 && n == 1 &&
		       m[0].host_port == 8000 && m[0].host_port_end == 8010,
	       "host port range");
	free(m);
	TAP_OK(&t,
	       maps("{\"53/udp\":[{\"HostPort\":\"5353\"}],\"80/tcp\":null}", NULL, false, &m, &n, &err) == 0 &&
		       n == 2 && m[1].ctr_port == 53 && !strcmp(m[1].proto, "udp") && m[0].ctr_port == 80 &&
		       m[0].host_port == 0,
	       "udp binding and a key without binding (dockerd's order: the larger port first)");
	free(m);
	/* dockerd 20.10 (observed): -p 18080:80 -p 127.0.0.1:19090:80 -p 17070:80 lists 17070, 19090, 18080;
	 * -p 127.0.0.1::80 -p 18089:80 lists 18089 first; -P over 53/udp 80 443 8080 allocates 8080 first */
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostPort\":\"18080\"},{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"19090\"},"
		    "{\"HostPort\":\"17070\"}]}",
		    NULL, false, &m, &n, &err) == 0 &&
		       n == 3 && m[0].host_port == 17070 && m[1].host_port == 19090 && m[2].host_port == 18080,
	       "tcp bindings of one port: reversed");
	free(m);
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"},{\"HostPort\":\"18089\"}]}", NULL, false,
		    &m, &n, &err) == 0 &&
		       n == 2 && m[0].host_port == 18089 && !strcmp(m[1].host_ip, "127.0.0.1"),
	       "an ephemeral binding after a fixed one");
	free(m);
	TAP_OK(&t,
	       maps(NULL, "{\"53/udp\":{},\"8080/tcp\":{},\"443/tcp\":{},\"80/tcp\":{},\"80/udp\":{}}", true, &m, &n,
		    &err) == 0 &&
		       n == 5 && m[0].ctr_port == 8080 && m[1].ctr_port == 443 && m[2].ctr_port == 80 &&
		       !strcmp(m[2].proto, "tcp") && m[3].ctr_port == 80 && !strcmp(m[3].proto, "udp") &&
		       m[4].ctr_port == 53,
	       "-P: descending, tcp before udp");
	free(m);
	TAP_OK(&t, maps("{\"80/tcp\":[{\"HostPort\":\"80a\"}]}", NULL, false, &m, &n, &err) < 0, "bad host port");
	TAP_STREQ(&t, err.msg, "invalid port specification: \"80a\"", "docker's message");
	TAP_OK(&t, maps("{\"80/tcp\":[{\"HostPort\":\"9-3\"}]}", NULL, false, &m, &n, &err) < 0, "reversed range");
	TAP_OK(&t, maps("{\"80/tcp\":[{\"HostIp\":\"1.2.3\",\"HostPort\":\"1\"}]}", NULL, false, &m, &n, &err) < 0,
	       "bad host IP");
	TAP_STREQ(&t, err.msg, "invalid IP address: 1.2.3", "message");
	TAP_OK(&t, maps("{\"x/tcp\":[]}", NULL, false, &m, &n, &err) < 0, "bad container port");
	/* -P: exposed ports without a binding get one */
	TAP_OK(&t,
	       maps("{\"80/tcp\":[{\"HostPort\":\"8080\"}]}", "{\"80/tcp\":{},\"443/tcp\":{}}", true, &m, &n, &err) ==
			       0 &&
		       n == 2 && m[1].host_port == 8080 && m[0].ctr_port == 443 && m[0].host_port == 0,
	       "-P adds exposed ports not bound");
	free(m);
	TAP_OK(&t, maps(NULL, "{\"80/tcp\":{}}", false, &m, &n, &err) == 0 && n == 0, "without -P exposed stays");
	free(m);

	/* allocator: an address-specific binding conflicts with 0.0.0.0 */
	struct berth_port_alloc a = {0};
	berth_ports_add(&a, "tcp", "0.0.0.0", 8080);
	TAP_OK(&t, berth_ports_taken(&a, "tcp", "0.0.0.0", 8080), "same port taken");
	TAP_OK(&t, berth_ports_taken(&a, "tcp", "127.0.0.1", 8080), "127.0.0.1:8080 vs 0.0.0.0:8080");
	TAP_OK(&t, !berth_ports_taken(&a, "udp", "", 8080), "udp is another space");
	berth_ports_add(&a, "tcp", "127.0.0.1", 9090);
	TAP_OK(&t, !berth_ports_taken(&a, "tcp", "127.0.0.2", 9090), "two addresses, one port");
	TAP_OK(&t, berth_ports_taken(&a, "tcp", "0.0.0.0", 9090), "0.0.0.0 vs a specific address");
	TAP_OK(&t, !berth_ports_taken(&a, "tcp", "::", 8080), "IPv6 is another space");
	berth_ports_add(&a, "tcp", "::", 8080);
	TAP_OK(&t, berth_ports_taken(&a, "tcp", "::1", 8080), "[::1]:8080 vs [::]:8080");
	berth_ports_remove(&a, "tcp", "::", 8080);
	TAP_OK(&t, !berth_ports_taken(&a, "tcp", "::1", 8080), "IPv6 released");
	berth_ports_remove(&a, "tcp", "0.0.0.0", 8080);
	TAP_OK(&t, !berth_ports_taken(&a, "tcp", "0.0.0.0", 8080), "released");
	berth_ports_free(&a);
	/* --ip: IPv4 or IPv6, canonical text; an IPv4-mapped address is IPv4 */
	char c[64];
	bool v6 = false;
	TAP_OK(&t, berth_host_ip_canon("0:0::1", c, sizeof(c), &v6) == 0 && v6 && !strcmp(c, "::1"), "::1 canonical");
	TAP_OK(&t, berth_host_ip_canon("10.1.2.3", c, sizeof(c), &v6) == 0 && !v6 && !strcmp(c, "10.1.2.3"), "IPv4");
	TAP_OK(&t, berth_host_ip_canon("::ffff:10.1.2.3", c, sizeof(c), &v6) == 0 && !v6 && !strcmp(c, "10.1.2.3"),
	       "IPv4-mapped is IPv4");
	TAP_OK(&t,
	       berth_host_ip_canon("1.2.3", c, sizeof(c), &v6) < 0 && berth_net_ip_valid("fd00::zz") < 0 &&
		       berth_net_ip_valid("") < 0 && berth_net_ip_valid("::") == 0,
	       "invalid addresses refused");
	int lo, hi;
	berth_ports_ephemeral_range(&lo, &hi);
	TAP_OK(&t, lo > 0 && hi >= lo && hi <= 65535, "ephemeral range %d-%d", lo, hi);
	return TAP_DONE(&t);
}
