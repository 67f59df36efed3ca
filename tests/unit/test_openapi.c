/* The OpenAPI document as json-c prints it: whole, stable from one build
 * to the next, slashes unescaped, the prefix as the server URL, a size
 * limit reported rather than a cut document, and the process's copy built
 * once. The document's content is checked against the descriptor set and
 * the npm validators by tests/openapi. */
#include <stdio.h>
#include <string.h>

#include "base/cg_limits.h"
#include "base/outbuf.h"
#include "http/openapi.h"
#include "pb/schema.h"
#include "unit.h"

static int contains(const struct outbuf *ob, const char *s)
{
    return memmem(ob->data, ob->len, s, strlen(s)) != NULL;
}

int main(void)
{
    struct cg_status st;
    CHECK(schema_init(&st) == 0);

    struct outbuf a, b, cue, tiny;
    outbuf_init(&a, CG_MAX_OPENAPI);
    outbuf_init(&b, CG_MAX_OPENAPI);
    outbuf_init(&cue, CG_MAX_OPENAPI);
    outbuf_init(&tiny, 4096);
    CHECK(openapi_write(&a, "", 0) == 0);
    CHECK(openapi_write(&b, "", 0) == 0);
    CHECK(openapi_write(&cue, "/cue", 4) == 0);

    static const char head[] = "{\"openapi\":\"3.1.0\",\"info\":{\"title\":";
    CHECK(a.len > sizeof head && memcmp(a.data, head, sizeof head - 1) == 0);
    CHECK(a.len > 2 && memcmp(a.data + a.len - 2, "}\n", 2) == 0);
    CHECK(memchr(a.data, '\n', a.len) == a.data + a.len - 1);   /* one line */
    /* Built twice, the same bytes: member order is insertion order. */
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(!contains(&a, "\\/"));
    CHECK(contains(&a, "\"servers\":[{\"url\":\"/\","));
    CHECK(contains(&cue, "\"servers\":[{\"url\":\"/cue\","));
    CHECK(contains(&a, "\"/show.ShowInterface/GetShows\":{\"post\":{\"tags\":"
                       "[\"show.ShowInterface\"],\"summary\":\"Get shows\","));
    CHECK(contains(&a, "\"operationId\":\"ShowInterface_GetShows\""));
    CHECK(contains(&a, "\"413\":{\"$ref\":\"#/components/responses/Error413\"}"));
    CHECK(contains(&a, "\"oneOf\":[{\"$ref\":\"#/components/schemas/"));
    CHECK(contains(&a, "\"cuegw.Error\":{\"type\":\"object\",\"required\":"
                       "[\"code\",\"message\",\"details\"],"));

    /* Over the limit: an error, not a cut document. */
    CHECK(openapi_write(&tiny, "", 0) == -1);

    size_t len = 0, len2 = 0;
    const char *doc = openapi_document("", 0, &len);
    CHECK(doc && len == a.len && memcmp(doc, a.data, len) == 0);
    CHECK(openapi_document("", 0, &len2) == doc && len2 == len);   /* built once */

    outbuf_free(&a);
    outbuf_free(&b);
    outbuf_free(&cue);
    outbuf_free(&tiny);
    return unit_report("openapi");
}
