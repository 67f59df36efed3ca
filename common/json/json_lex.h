/* The JSON text layer of the request decoder: RFC 8259 strictly (no
 * comments, no NaN literals, no single quotes; strict UTF-8 with overlong
 * forms and lone surrogates refused), and nothing of the schema.
 *
 * A string is validated once and then left where it lies in the body: it
 * is a span of the body plus what decoding it would give. Nothing is copied
 * until the wire writer decodes it straight into its output, so a body of
 * many strings costs no memory per string. U+0000 is an ordinary character
 * here: spans carry their length, never a terminator. */
#ifndef CUEGW_JSON_LEX_H
#define CUEGW_JSON_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* A validated JSON string in the body. */
struct jstr {
    const char *raw;     /* first byte after the opening quote */
    size_t raw_n;        /* bytes up to the closing quote */
    size_t len;          /* bytes once its escapes are decoded */
    bool escaped;        /* has escapes: raw is not the decoded text */
};

enum jkind { J_STRING, J_NUMBER, J_TRUE, J_FALSE, J_NULL, J_OBJECT, J_ARRAY };

/* One value as the decoder first sees it. Objects and arrays are only
 * announced: their text is still ahead. */
struct jtok {
    enum jkind kind;
    struct jstr str;     /* J_STRING */
    const char *num;     /* J_NUMBER: its text */
    size_t num_n;
};

/* Why a string does not lex. JLEX_BAD_UTF8 is reported as an encoding
 * error, the others as JSON syntax. */
enum jlex_err {
    JLEX_OK = 0,
    JLEX_UNTERMINATED,
    JLEX_CONTROL,
    JLEX_BAD_U,
    JLEX_LONE_LOW,
    JLEX_LONE_HIGH,
    JLEX_BAD_ESCAPE,
    JLEX_BAD_UTF8
};

const char *jlex_err_text(enum jlex_err e);

static inline const char *jlex_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Lexes the string whose opening quote is at *pp (before end). On success
 * *pp is past the closing quote; on failure it is at the offending byte
 * (or at end, when the string is cut short). */
enum jlex_err jlex_string(const char **pp, const char *end, struct jstr *s);

/* Writes the first bytes of s's decoded text to out, never more than cap
 * and never part of one escape; returns how many. With cap >= s->len the
 * whole text is written. */
size_t jlex_decode(const struct jstr *s, char *out, size_t cap);

/* Whether two strings already lexed decode to the same bytes. Each is given
 * by its raw start only: it ends at its closing quote. */
bool jlex_same(const char *a, const char *b);

/* How many more members the object being read has after p (a point
 * between two of its members, or after a key), counted as its commas at
 * its own level up to its closing brace, without checking anything: a
 * sizing hint, exact for valid JSON. */
size_t jlex_members_left(const char *p, const char *end);

/* Length of the JSON number at p, or 0 when there is none; *integral says
 * whether it has neither fraction nor exponent. */
size_t jlex_number(const char *p, const char *end, bool *integral);

#endif
