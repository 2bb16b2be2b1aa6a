/* iptables rule generation: docker's DOCKER* layout with Berth's chain
 * names. Pure: the rules are data; iptables.c applies them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "network/net_int.h"

void berth_ipt_rules_free(struct berth_ipt_rules *r)
{
	for (size_t i = 0; i < r->n; i++)
		berth_strv_free(r->v[i].args);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* add(r, table, chain, insert, arg..., NULL); insert is an int: va_start after a
 * parameter that undergoes default promotion (bool) is undefined behaviour */
static int add(struct berth_ipt_rules *r, const char *table, const char *chain, int insert, ...)
{
	struct berth_ipt_rule *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	r->v = nv;
	struct berth_ipt_rule *rule = &r->v[r->n];
	*rule = (struct berth_ipt_rule){.table = table, .chain = chain, .insert = insert != 0};
	va_list ap;
	va_start(ap, insert);
	for (const char *a; (a = va_arg(ap, const char *));) {
		if (berth_strv_push(&rule->args, a) < 0) {
			va_end(ap);
			berth_strv_free(rule->args);
			return -1;
		}
	}
	va_end(ap);
	r->n++;
	return 0;
}

int berth_ipt_network_rules(const struct berth_ipt_net *n, struct berth_ipt_rules *out)
{
	const char *br = n->bridge;
	int rc = 0;
	if (n->internal) {
		/* no way in or out of the subnet, docker's internal network */
		rc |= add(out, "filter", "BERTH-ISOLATION-STAGE-1", true, "!", "-s", n->subnet, "-o", br, "-j", "DROP",
			  NULL);
		rc |= add(out, "filter", "BERTH-ISOLATION-STAGE-1", true, "-i", br, "!", "-d", n->subnet, "-j", "DROP",
			  NULL);
		rc |= add(out, "filter", "FORWARD", false, "-i", br, "-o", br, "-j", n->icc ? "ACCEPT" : "DROP", NULL);
		return rc ? -1 : 0;
	}
	if (n->masquerade)
		rc |= add(out, "nat", "POSTROUTING", false, "-s", n->subnet, "!", "-o", br, "-j", "MASQUERADE", NULL);
	if (n->hairpin)
		rc |= add(out, "nat", "POSTROUTING", false, "-o", br, "-m", "addrtype", "--src-type", "LOCAL", "-j",
			  "MASQUERADE", NULL);
	else
		rc |= add(out, "nat", "BERTH", false, "-i", br, "-j", "RETURN", NULL);
	rc |= add(out, "filter", "FORWARD", false, "-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
		  "-j", "ACCEPT", NULL);
	rc |= add(out, "filter", "FORWARD", false, "-o", br, "-j", "BERTH", NULL);
	rc |= add(out, "filter", "FORWARD", false, "-i", br, "!", "-o", br, "-j", "ACCEPT", NULL);
	rc |= add(out, "filter", "FORWARD", false, "-i", br, "-o", br, "-j", n->icc ? "ACCEPT" : "DROP", NULL);
	rc |= add(out, "filter", "BERTH-ISOLATION-STAGE-1", true, "-i", br, "!", "-o", br, "-j",
		  "BERTH-ISOLATION-STAGE-2", NULL);
	rc |= add(out, "filter", "BERTH-ISOLATION-STAGE-2", true, "-o", br, "-j", "DROP", NULL);
	return rc ? -1 : 0;
}

int berth_ipt_port_rules(const struct berth_ipt_port *p, struct berth_ipt_rules *out)
{
	/* IPv4 (iptables) or IPv6 (ip6tables: /128, [addr]:port, :: = any) */
	bool v6 = strchr(p->ctr_ip, ':') != NULL;
	char hp[8], cp[8], cdst[80], cip32[72], hip32[72];
	snprintf(hp, sizeof(hp), "%d", p->host_port);
	snprintf(cp, sizeof(cp), "%d", p->ctr_port);
	snprintf(cdst, sizeof(cdst), v6 ? "[%s]:%d" : "%s:%d", p->ctr_ip, p->ctr_port);
	snprintf(cip32, sizeof(cip32), "%s/%d", p->ctr_ip, v6 ? 128 : 32);
	snprintf(hip32, sizeof(hip32), "%s/%d", p->host_ip, v6 ? 128 : 32);
	bool any = !p->host_ip[0] || !strcmp(p->host_ip, "0.0.0.0") || !strcmp(p->host_ip, "::");
	int rc = 0;
	/* nat BERTH: DNAT (from outside the bridge unless hairpin) */
	const char *dnat[24];
	int k = 0;
	if (!any) {
		dnat[k++] = "-d";
		dnat[k++] = hip32;
	}
	if (!p->hairpin) {
		dnat[k++] = "!";
		dnat[k++] = "-i";
		dnat[k++] = p->bridge;
	}
	const char *tail[] = {"-p", p->proto, "-m", p->proto, "--dport", hp, "-j", "DNAT", "--to-destination", cdst};
	for (size_t i = 0; i < sizeof(tail) / sizeof(*tail); i++)
		dnat[k++] = tail[i];
	dnat[k] = NULL;
	struct berth_ipt_rules one = {0};
	if (add(&one, "nat", "BERTH", false, NULL) < 0)
		return -1;
	for (int i = 0; i < k; i++)
		rc |= berth_strv_push(&one.v[0].args, dnat[i]);
	struct berth_ipt_rule *nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv || rc) {
		berth_ipt_rules_free(&one);
		return -1;
	}
	out->v = nv;
	out->v[out->n++] = one.v[0];
	free(one.v);
	/* nat POSTROUTING: a container reaching itself through its published port */
	rc |= add(out, "nat", "POSTROUTING", false, "-s", cip32, "-d", cip32, "-p", p->proto, "-m", p->proto, "--dport",
		  cp, "-j", "MASQUERADE", NULL);
	/* filter BERTH: let the DNATed traffic in */
	rc |= add(out, "filter", "BERTH", false, "-d", cip32, "!", "-i", p->bridge, "-o", p->bridge, "-p", p->proto,
		  "-m", p->proto, "--dport", cp, "-j", "ACCEPT", NULL);
	return rc ? -1 : 0;
}

char *berth_ipt_restore_text(const struct berth_ipt_rules *r, const char *op)
{
	static const char *const tables[] = {"nat", "filter"};
	struct berth_buf b = {0};
	size_t done = 0;
	for (size_t t = 0; t < 2; t++) {
		bool any = false;
		for (size_t i = 0; i < r->n; i++) {
			const struct berth_ipt_rule *x = &r->v[i];
			if (strcmp(x->table, tables[t]))
				continue;
			if (!any)
				berth_buf_printf(&b, "*%s\n", tables[t]);
			any = true;
			done++;
			berth_buf_printf(&b, "%s %s", !strcmp(op, "-A") && x->insert ? "-I" : op, x->chain);
			for (size_t a = 0; x->args && x->args[a]; a++) {
				if (!*x->args[a] || strpbrk(x->args[a], " \t\n\"'#")) {
					berth_buf_free(&b);
					return NULL;
				}
				berth_buf_printf(&b, " %s", x->args[a]);
			}
			berth_buf_printf(&b, "\n");
		}
		if (any)
			berth_buf_printf(&b, "COMMIT\n");
	}
	if (done != r->n) { /* a table other than nat/filter */
		berth_buf_free(&b);
		return NULL;
	}
	char *s = berth_buf_steal(&b);
	berth_buf_free(&b);
	return s ? s : strdup("");
}

char **berth_ipt_argv(const char *iptables, const struct berth_ipt_rule *r, const char *op)
{
	char **v = NULL;
	const char *head[] = {iptables, "-w", "-t", r->table, op, r->chain};
	for (size_t i = 0; i < 6; i++)
		if (berth_strv_push(&v, head[i]) < 0)
			goto fail;
	if (!strcmp(op, "-I") && berth_strv_push(&v, "1") < 0)
		goto fail;
	for (size_t i = 0; r->args && r->args[i]; i++)
		if (berth_strv_push(&v, r->args[i]) < 0)
			goto fail;
	return v;
fail:
	berth_strv_free(v);
	return NULL;
}
