/* The registry is built from the generated descriptors: its counts, its
 * routes, its JSON names and its map detection. */
#include <stdio.h>

#include "pb/schema.h"
#include "unit.h"

static const struct method_info *route(const char *p)
{
    return schema_method(p, strlen(p));
}

int main(void)
{
    struct cg_status st;
    CHECK(schema_init(&st) == 0);
    CHECK(schema_init(&st) == 0);                  /* idempotent */
    printf("schema: %zu message types, %zu routes\n", schema_msg_count(), schema_method_count());
    CHECK(schema_msg_count() == 725);
    CHECK(schema_method_count() == 273);

    const struct method_info *m = route("/show.ShowInterface/GetShows");
    CHECK(m && strcmp(m->in->desc->name, "show.ShowGetShowsRequest") == 0 &&
          strcmp(m->out->desc->name, "show.ShowGetShowsResponse") == 0);
    CHECK(route("/job.JobInterface/GetJobs") != NULL);
    CHECK(route("/department.DepartmentInterface/SetManagedCores") != NULL);
    /* Private interfaces and near misses are not routes. */
    CHECK(route("/rqd.RqdInterface/LaunchFrame") == NULL);
    CHECK(route("/report.RqdReportInterface/ReportStatus") == NULL);
    CHECK(route("/cue.CueInterface/GetSystemStats") == NULL);
    CHECK(route("/show.ShowInterface/getShows") == NULL);
    CHECK(route("/show.ShowInterface/GetShows/") == NULL);
    CHECK(route("show.ShowInterface/GetShows") == NULL);
    CHECK(route("/show.ShowInterface/GetShow") == NULL);
    CHECK(route("") == NULL);

    /* Every route's path is its service and method, and services count 22. */
    int services = 0;
    const char *last = "";
    for (size_t i = 0; i < schema_method_count(); i++) {
        const struct method_info *mi = schema_method_at(i);
        char want[256];
        snprintf(want, sizeof want, "/%s/%s", mi->service, mi->name);
        CHECK_STR(mi->path, want);
        if (strcmp(mi->service, last) != 0)
            services++;
        last = mi->service;
    }
    CHECK(services == 22);

    const struct msg_info *job = schema_msg_by_name("job.Job");
    CHECK(job != NULL);
    const struct field_info *f = schema_field_by_name(job, "minCores", 8);
    CHECK(f && strcmp(f->fd->name, "min_cores") == 0);
    CHECK(schema_field_by_name(job, "min_cores", 9) == f);
    CHECK(schema_field_by_name(job, "mincores", 8) == NULL);
    CHECK(f && f->key_len == strlen("\"minCores\":") && memcmp(f->key, "\"minCores\":", f->key_len) == 0);
    f = schema_field_by_name(job, "jobStats", 8);
    CHECK(f && f->sub == schema_msg_by_name("job.JobStats"));

    const struct msg_info *tasks = schema_msg_by_name("department.DeptAddTasksRequest");
    f = tasks ? schema_field_by_name(tasks, "tmap", 4) : NULL;
    CHECK(f && f->is_map);
    const struct msg_info *seq = schema_msg_by_name("job.JobSeq");
    f = seq ? schema_field_by_name(seq, "jobs", 4) : NULL;
    CHECK(f && !f->is_map);
    const struct msg_info *rf = schema_msg_by_name("report.RenderHost");
    CHECK(rf != NULL);
    int maps = 0;
    for (size_t i = 0; i < schema_msg_count(); i++) {
        const struct msg_info *mi = schema_msg_at(i);
        for (unsigned k = 0; k < mi->desc->n_fields; k++)
            maps += mi->fields[k].is_map;
    }
    CHECK(maps == 7);                /* the seven map fields of the schema */
    return unit_report("schema");
}
