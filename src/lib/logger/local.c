/* "local" log driver: optional; registered so that create gives a clear
 * answer until it is written. */
#include "logger_internal.h"

const struct berth_log_driver berth_log_driver_local = {
	.name = "local",
	.not_implemented = "the local log driver is not implemented yet",
};
