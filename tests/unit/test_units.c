#include <stdlib.h>
#include "../../src/berth/format/units.h"
#include "tap.h"
int main(void)
{
	struct tap t = {0};
	return TAP_DONE(&t);
}
