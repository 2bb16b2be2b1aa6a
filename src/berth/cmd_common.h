/* Boilerplate shared by the cmd_*.c command files: the end of an option
 * table and flag parsing that returns from the command on --help (0) or a
 * flag error (125). */
#pragma once
#include "cli.h"

#define END_OPTS                                                                                                       \
	{                                                                                                              \
		NULL, 0, 0, NULL, NULL                                                                                 \
	}
#define PARSE_OR_RETURN(opts, stop)                                                                                    \
	char **args = NULL;                                                                                            \
	{                                                                                                              \
		int _pr = cli_parse(c, argc, argv, opts, stop, &args);                                                 \
		if (_pr)                                                                                               \
			return _pr < 0 ? 125 : 0;                                                                      \
	}
