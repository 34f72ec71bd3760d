/* Links the generated stubs with libmpstore (no daemon is contacted). */
#include <stdio.h>

#include "shop.mps.h"

mps_err plugin_compile_use(mps_client *c);

int
main(void)
{
	printf("descriptor set: %zu bytes; first container %s\n", shop__mps_descriptor_set_len,
	       SHOP__JOBS__NAME);
	return shop__mps_descriptor_set_len > 0 && plugin_compile_use != NULL ? 0 : 1;
}
