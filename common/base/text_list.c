#include "base/text_list.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

const char *text_list_next(const char **p, size_t *n, int blank_separates)
{
    const char *s = *p;
    while (is_blank(*s) || *s == ',')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    const char *start = s;
    while (*s && *s != ',' && !(blank_separates && is_blank(*s)))
        s++;
    *p = s;
    while (s > start && is_blank(s[-1]))
        s--;
    *n = (size_t)(s - start);
    return start;
}
