#include "help.h"

#include <string.h>

#include "ops/config.h"

static const char usage[] =
    "usage: cuegw                         serve the FastCGI socket on standard input\n"
    "                                     (lighttpd bin-path, mod_fcgid, spawn-fcgi)\n"
    "       cuegw --listen ADDR [--workers N]\n"
    "                                     a pre-forked pool on HOST:PORT, :PORT or\n"
    "                                     /path.sock (N: 1 to 1024, default: CPUs);\n"
    "                                     prefer a unix socket: every local user can\n"
    "                                     connect to a loopback TCP port\n"
    "       cuegw --listen ADDR --allow-non-loopback\n"
    "                                     consent to a TCP address other than loopback\n"
    "       cuegw --check-config          check the settings and the policy file, call\n"
    "                                     Cuebot once; exit 0, 1 (Cuebot) or 2 (settings)\n"
    "       cuegw --openapi               print the OpenAPI document (honours URL_PREFIX)\n"
    "       cuegw --list-settings         every setting: name, group, kind, default, flags\n"
    "       cuegw --version | --help\n"
    "\n"
    "Settings are environment variables; blank means unset (the default). Switches\n"
    "take exactly 1 or 0; true, yes, on and the like are refused. Those marked *\n"
    "may also come with each request as FastCGI parameters, but only with\n"
    "SETTINGS_FROM_PARAMS=1.\n";

#define NAME_COLUMN 26
#define WIDTH 88

/* Writes text from column `col` on, wrapped at WIDTH, continuation lines
 * starting at NAME_COLUMN: the table holds one line of help per setting,
 * and the terminal decides nothing. */
static void wrap(FILE *f, int col, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t word = strcspn(p, " ");
        if (col > NAME_COLUMN && col + 1 + (int)word > WIDTH) {
            fprintf(f, "\n%*s", NAME_COLUMN, "");
            col = NAME_COLUMN;
        } else if (col > NAME_COLUMN) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)word, p);
        col += (int)word;
        p += word;
        p += strspn(p, " ");
    }
    fputc('\n', f);
}

void help_print(FILE *f)
{
    fputs(usage, f);
    for (int g = 0; g < GROUP_COUNT; g++) {
        fprintf(f, "%s:\n", setting_group_titles[g]);
        for (size_t i = 0; i < SETTING_COUNT; i++) {
            const struct setting *s = &settings[i];
            if ((int)s->group != g)
                continue;
            char line[600];
            if (s->def[0])
                snprintf(line, sizeof line, "%s (default: %s)", s->help, s->def);
            else
                snprintf(line, sizeof line, "%s", s->help);
            int col = fprintf(f, "  %s%s", s->name, s->flags & SF_PER_REQUEST ? "*" : "");
            fprintf(f, "%*s", col < NAME_COLUMN ? NAME_COLUMN - col : 1, "");
            wrap(f, col < NAME_COLUMN ? NAME_COLUMN : col + 1, line);
        }
    }
    fputs("\nSIGTERM or SIGUSR1: finish the requests in hand (at most SHUTDOWN_TIMEOUT), exit 0.\n"
          "See cuegw(8) and the README for the details.\n", f);
}

/* One line a setting, tab-separated, for scripts and the docs' test:
 * NAME GROUP KIND DEFAULT FLAGS ("-" for none, else comma-separated). */
void settings_list_print(FILE *f)
{
    static const struct { unsigned flag; const char *name; } flag_names[] = {
        {SF_SECRET, "secret"}, {SF_PER_REQUEST, "per-request"}, {SF_DERIVED, "derived"},
        {SF_ANYCASE, "any-case"}, {SF_EARLY, "early"},
    };
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct setting *s = &settings[i];
        fprintf(f, "%s\t%s\t%s\t%s\t", s->name, setting_group_titles[s->group],
                s->kind == KIND_ENUM ? s->choices : setting_kind_name(s->kind),
                s->def[0] ? s->def : "unset");
        const char *sep = "";
        for (size_t j = 0; j < sizeof flag_names / sizeof *flag_names; j++)
            if (s->flags & flag_names[j].flag) {
                fprintf(f, "%s%s", sep, flag_names[j].name);
                sep = ",";
            }
        fprintf(f, "%s\n", *sep ? "" : "-");
    }
}
