/* IS_ENABLED(CONFIG_X): 1 when Kconfig set the boolean option, else 0, so
 * C code can test options in ordinary `if` statements (both branches are
 * compiled and type-checked; the dead one is dropped by the optimiser).
 * The same trick as Linux's include/linux/kconfig.h. */
#ifndef WARD_KCONFIG_H
#define WARD_KCONFIG_H

#include "generated/autoconf.h"

#define WARD__ARG_PLACEHOLDER_1 0,
#define WARD__TAKE_SECOND(ignored, val, ...) val
#define WARD__IS_DEFINED3(arg1_or_junk) WARD__TAKE_SECOND(arg1_or_junk 1, 0, 0)
#define WARD__IS_DEFINED2(val) WARD__IS_DEFINED3(WARD__ARG_PLACEHOLDER_##val)
#define IS_ENABLED(option) WARD__IS_DEFINED2(option)

#endif
