/* Applying iptables rules (internal to network/). */
#pragma once
#include "network/net_int.h"

/* Run argv (argv[0] looked up in PATH); exit status, -1 when it could not
 * run. *output (may be NULL) gets stdout+stderr. */
int berth_ipt_exec(char **argv, char **output);
/* Add the rule unless it is there (-C first). */
int berth_ipt_ensure(const char *ipt, const struct berth_ipt_rule *r, struct berth_error *err);
void berth_ipt_remove(const char *ipt, const struct berth_ipt_rule *r);
/* All or nothing: on failure the rules added so far are removed again. */
int berth_ipt_apply(const char *ipt, const struct berth_ipt_rules *rules, struct berth_error *err);
void berth_ipt_unapply(const char *ipt, const struct berth_ipt_rules *rules);
/* All rules in one `iptables-restore --noflush` (IPT-restore): op "-A"
 * appends them (inserts the insert ones) without checking whether they are
 * there — for rules known to be absent (a new endpoint's ports); "-D" deletes
 * them, failing as a whole when one is missing. Each table is committed
 * atomically; -1 with err on failure. */
int berth_ipt_batch(const char *ipt, const struct berth_ipt_rules *rules, const char *op, struct berth_error *err);
/* Chains BERTH (nat, filter), BERTH-ISOLATION-STAGE-1/2, BERTH-USER and the
 * jumps to them (PREROUTING/OUTPUT in nat, FORWARD in filter). */
int berth_ipt_setup_base(const char *ipt, bool hairpin, struct berth_error *err);
