/* Uses every kind of generated function once, so that -Werror sees them. */
#include "shop.mps.h"

mps_err plugin_compile_use(mps_client *c);

mps_err
plugin_compile_use(mps_client *c)
{
	Shop__Job  job = SHOP__JOB__INIT;
	Shop__Job *got = NULL, **arr = NULL;
	int64_t    len = 0;
	size_t     n = 0;
	char     **keys = NULL;
	mps_err    rv;

	if ((rv = shop__register(c)) != MPS_OK)
		return rv;
	job.id = 7;
	if ((rv = shop__jobs__append(c, &job, &len)) != MPS_OK)
		return rv;
	if ((rv = shop__jobs__get(c, 0, &got)) != MPS_OK)
		return rv;
	shop__job__free_unpacked(got, NULL);
	if ((rv = shop__jobs__slice(c, 0, 0, 0, &arr, &n)) != MPS_OK)
		return rv;
	shop__jobs__free_array(arr, n);
	if ((rv = shop__by_id__set(c, "a", &job)) != MPS_OK)
		return rv;
	if ((rv = shop__by_id__keys(c, &keys, &n)) != MPS_OK)
		return rv;
	shop__by_id__free_keys(keys, n);
	if ((rv = shop__done__add(c, 1, &len)) != MPS_OK)
		return rv;
	return shop__todo__put(c, &job, 0, NULL);
}
