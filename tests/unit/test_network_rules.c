/* network/: iptables rule generation (docker's DOCKER* layout, Berth's chains). */
#include <stdlib.h>

#include "common/util.h"
#include "network/net_int.h"
#include "tap.h"

/* "-t nat -A POSTROUTING -s ... " as iptables -S would print it (with the table). */
static char *show(const struct berth_ipt_rules *r)
{
	struct berth_buf b = {0};
	for (size_t i = 0; i < r->n; i++) {
		berth_buf_printf(&b, "%s %s %s", r->v[i].table, r->v[i].insert ? "-I" : "-A", r->v[i].chain);
		for (size_t k = 0; r->v[i].args[k]; k++)
			berth_buf_printf(&b, " %s", r->v[i].args[k]);
		berth_buf_printf(&b, "\n");
	}
	return berth_buf_steal(&b);
}

int main(void)
{
	struct tap t = {0};
	struct berth_ipt_rules r = {0};
	struct berth_ipt_net net = {.bridge = "br0", .subnet = "192.168.5.0/24", .icc = true, .masquerade = true};
	TAP_OK(&t, berth_ipt_network_rules(&net, &r) == 0, "bridge rules");
	char *s = show(&r);
	TAP_STREQ(&t, s,
		  "nat -A POSTROUTING -s 192.168.5.0/24 ! -o br0 -j MASQUERADE\n"
		  "nat -A BERTH -i br0 -j RETURN\n"
		  "filter -A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
		  "filter -A FORWARD -o br0 -j BERTH\n"
		  "filter -A FORWARD -i br0 ! -o br0 -j ACCEPT\n"
		  "filter -A FORWARD -i br0 -o br0 -j ACCEPT\n"
		  "filter -I BERTH-ISOLATION-STAGE-1 -i br0 ! -o br0 -j BERTH-ISOLATION-STAGE-2\n"
		  "filter -I BERTH-ISOLATION-STAGE-2 -o br0 -j DROP\n",
		  "dockerd's layout");
	free(s);
	berth_ipt_rules_free(&r);
	net.icc = false;
	net.masquerade = false;
	net.hairpin = true;
	berth_ipt_network_rules(&net, &r);
	s = show(&r);
	TAP_OK(&t, strstr(s, "filter -A FORWARD -i br0 -o br0 -j DROP\n") != NULL,
	       "--icc=false drops bridge to bridge");
	TAP_OK(&t, !strstr(s, "-s 192.168.5.0/24 ! -o br0 -j MASQUERADE"), "--ip-masq=false: no MASQUERADE");
	TAP_OK(&t, strstr(s, "nat -A POSTROUTING -o br0 -m addrtype --src-type LOCAL -j MASQUERADE\n") != NULL,
	       "hairpin: local sources masqueraded");
	TAP_OK(&t, !strstr(s, "-j RETURN"), "hairpin: no RETURN for the bridge in nat BERTH");
	free(s);
	berth_ipt_rules_free(&r);
	struct berth_ipt_net internal = {.bridge = "br1", .subnet = "10.9.0.0/24", .icc = true, .internal = true};
	berth_ipt_network_rules(&internal, &r);
	s = show(&r);
	TAP_OK(&t,
	       strstr(s, "filter -I BERTH-ISOLATION-STAGE-1 -i br1 ! -d 10.9.0.0/24 -j DROP\n") &&
		       !strstr(s, "MASQUERADE"),
	       "internal network: no way out, no NAT");
	free(s);
	berth_ipt_rules_free(&r);

	struct berth_ipt_port p = {.bridge = "br0",
				   .proto = "tcp",
				   .host_ip = "127.0.0.1",
				   .host_port = 18090,
				   .ctr_ip = "192.168.5.2",
				   .ctr_port = 80};
	TAP_OK(&t, berth_ipt_port_rules(&p, &r) == 0, "port rules");
	s = show(&r);
	TAP_STREQ(&t, s,
		  "nat -A BERTH -d 127.0.0.1/32 ! -i br0 -p tcp -m tcp --dport 18090 -j DNAT --to-destination "
		  "192.168.5.2:80\n"
		  "nat -A POSTROUTING -s 192.168.5.2/32 -d 192.168.5.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n"
		  "filter -A BERTH -d 192.168.5.2/32 ! -i br0 -o br0 -p tcp -m tcp --dport 80 -j ACCEPT\n",
		  "dockerd's three rules per published port");
	free(s);
	berth_ipt_rules_free(&r);
	p.host_ip = "0.0.0.0";
	p.proto = "udp";
	p.hairpin = true;
	berth_ipt_port_rules(&p, &r);
	s = show(&r);
	TAP_OK(&t,
	       strstr(s, "nat -A BERTH -p udp -m udp --dport 18090 -j DNAT --to-destination 192.168.5.2:80\n") != NULL,
	       "0.0.0.0 + hairpin: no -d, no ! -i");
	free(s);
	berth_ipt_rules_free(&r);
	struct berth_ipt_port p6 = {.bridge = "br6",
				    .proto = "tcp",
				    .host_ip = "::",
				    .host_port = 8080,
				    .ctr_ip = "fd00:1::2",
				    .ctr_port = 80};
	TAP_OK(&t, berth_ipt_port_rules(&p6, &r) == 0, "IPv6 port rules");
	s = show(&r);
	TAP_STREQ(&t, s,
		  "nat -A BERTH ! -i br6 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:1::2]:80\n"
		  "nat -A POSTROUTING -s fd00:1::2/128 -d fd00:1::2/128 -p tcp -m tcp --dport 80 -j MASQUERADE\n"
		  "filter -A BERTH -d fd00:1::2/128 ! -i br6 -o br6 -p tcp -m tcp --dport 80 -j ACCEPT\n",
		  "the same three rules for ip6tables");
	free(s);
	p.hairpin = true;
	berth_ipt_port_rules(&p, &r);
	char **argv = berth_ipt_argv("iptables", &r.v[0], "-C");
	TAP_OK(&t,
	       argv && !strcmp(argv[0], "iptables") && !strcmp(argv[1], "-w") && !strcmp(argv[3], "nat") &&
		       !strcmp(argv[4], "-C") && !strcmp(argv[5], "BERTH"),
	       "argv: iptables -w -t nat -C BERTH ...");
	berth_strv_free(argv);
	struct berth_ipt_rule ins = {.table = "filter", .chain = "FORWARD", .insert = true, .args = NULL};
	argv = berth_ipt_argv("iptables", &ins, "-I");
	TAP_OK(&t, argv && !strcmp(argv[6], "1") && !argv[7], "-I inserts at position 1");
	berth_strv_free(argv);
	berth_ipt_rules_free(&r);
	/* one iptables-restore input for a new endpoint's port rules */
	struct berth_ipt_port pp = {.bridge = "br0",
				    .proto = "tcp",
				    .host_ip = "0.0.0.0",
				    .host_port = 8080,
				    .ctr_ip = "172.17.0.2",
				    .ctr_port = 80};
	struct berth_ipt_rules pr = {0};
	berth_ipt_port_rules(&pp, &pr);
	char *txt = berth_ipt_restore_text(&pr, "-A");
	TAP_OK(&t,
	       txt && !strcmp(txt,
			      "*nat\n"
			      "-A BERTH ! -i br0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n"
			      "-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n"
			      "COMMIT\n*filter\n"
			      "-A BERTH -d 172.17.0.2/32 ! -i br0 -o br0 -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n"),
	       "restore text: nat then filter, one COMMIT each: %s", txt ? txt : "(null)");
	free(txt);
	txt = berth_ipt_restore_text(&pr, "-D");
	TAP_OK(&t, txt && strstr(txt, "-D BERTH ! -i br0") && !strstr(txt, "-A "), "restore text for -D");
	free(txt);
	berth_strv_free(pr.v[0].args);
	pr.v[0].args = NULL;
	berth_strv_push(&pr.v[0].args, "-m");
	berth_strv_push(&pr.v[0].args, "comment with space");
	TAP_OK(&t, berth_ipt_restore_text(&pr, "-A") == NULL, "an argument that needs quoting: no text");
	berth_ipt_rules_free(&pr);
	return TAP_DONE(&t);
}
