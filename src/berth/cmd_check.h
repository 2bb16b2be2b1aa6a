/* berth system check [--repair] (POST /system/check; beyond docker). */
#pragma once
struct cli;
int cli_system_check(struct cli *c, int argc, char **argv);
