/* Links the generated stubs with libmpstore (no daemon is contacted). */
#include <stdio.h>

#include "shop.mps.h"

mps_err plugin_compile_use(mps_client *c);

/* referenced so the linker must resolve every libmpstore call the stubs make */
mps_err (*volatile plugin_use_ref)(mps_client *) = plugin_compile_use;

int
main(void)
{
	printf("descriptor set: %zu bytes; first container %s\n", shop__mps_descriptor_set_len,
	       SHOP__JOBS__NAME);
	return shop__mps_descriptor_set_len > 0 && plugin_use_ref != NULL ? 0 : 1;
}
