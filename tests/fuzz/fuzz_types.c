#include "fuzz_types.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

static const struct msg_info **sorted;
static size_t count;

static int by_name(const void *a, const void *b)
{
    const struct msg_info *x = *(const struct msg_info *const *)a;
    const struct msg_info *y = *(const struct msg_info *const *)b;
    return strcmp(x->desc->name, y->desc->name);
}

void fuzz_types_init(void)
{
    struct cg_status st;
    if (sorted)
        return;
    FUZZ_SETUP(schema_init(&st) == 0, st.msg);
    count = schema_msg_count();
    FUZZ_SETUP(count > 0, "the schema has no message types");
    sorted = malloc(count * sizeof *sorted);
    FUZZ_SETUP(sorted != NULL, "out of memory");
    for (size_t i = 0; i < count; i++)
        sorted[i] = schema_msg_at(i);
    qsort(sorted, count, sizeof *sorted, by_name);
}

size_t fuzz_type_count(void)
{
    return count;
}

const struct msg_info *fuzz_type_pick(uint8_t hi, uint8_t lo)
{
    return sorted[(((size_t)hi << 8) | lo) % count];
}
