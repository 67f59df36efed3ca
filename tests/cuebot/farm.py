"""Sample farm for the stand-in Cuebot: fixed data, identical on every start,
and the answers to the read methods that tests and `make demo` use.

What it holds (tests may rely on all of this):

  facility   "local"           id 00000001-0000-4000-8000-000000000001
  allocations (facility local; default is local.general)
    local.general  tag general  id 00000002-...-000000000001  hosts render-01, render-02
    local.gpu      tag gpu      id 00000002-...-000000000002  hosts render-03
    local.desktop  tag desktop  id 00000002-...-000000000003  hosts desk-alice
  shows (both active, dispatch and booking enabled)
    testing  id 00000003-0000-4000-8000-000000000001
    pipe     id 00000003-0000-4000-8000-000000000002
  groups: root group per show named after it, plus
    testing_lighting, testing_fx (children of testing); pipe_comp (child of pipe)
  hosts (cores, memory in KB, hardware state, lock state)
    render-01  local.general  16 cores  64 GiB   UP    OPEN
    render-02  local.general  32 cores  128 GiB  UP    OPEN
    render-03  local.gpu      24 cores  96 GiB   DOWN  OPEN   2 gpus
    desk-alice local.desktop   8 cores  32 GiB   UP    NIMBY_LOCKED
  subscriptions: local.general.testing, local.general.pipe, local.gpu.pipe
  jobs (name, show, user, state, layers "name:frames")
    testing-sh01-lighting_v3     testing alice PENDING   render:10 comp:5  = 15 frames
    testing-sh02-fx_sim_v1       testing bruno PENDING   sim:8             =  8 frames (paused)
    pipe-sh10-comp_v12           pipe    chen  PENDING   prep:5 render:10 comp:6 = 21 frames
    pipe-sh11-anim_playblast_v2  pipe    dana  FINISHED  playblast:5       =  5 frames
  Job ids are 00000005-0000-4000-8000-00000000000N with N = 1..4 in that
  order; layer ids 00000006-..., frame ids 00000007-..., group ids
  00000004-..., host ids 00000008-..., subscription ids 00000009-...
  Frame states per layer, frame 1 first (S succeeded, R running, D dead,
  W waiting, P depend, E eaten):
    testing-sh01-lighting_v3     render SSSSRRDWWW  comp PPPPP
    testing-sh02-fx_sim_v1       sim    SSRWWWWW
    pipe-sh10-comp_v12           prep SSSSS  render SSSSSSRREW  comp WWWWWW
    pipe-sh11-anim_playblast_v2  playblast SSSSS
  Frame names are "%04d-<layer>" ("0001-render"), numbers start at 1.
  Times are epoch seconds around T0 = 1767225600 (2026-01-01 UTC).

GetJobs without include_finished leaves out pipe-sh11-anim_playblast_v2.
Lookups of unknown names or ids raise NotFound (the server answers
NOT_FOUND). Calls that change state are accepted and change nothing, so the
farm stays the same for the whole run, except job.JobInterface/Pause and
Resume: they set the job's is_paused (unknown job: NOT_FOUND), so a test can
read its own write back; a test that pauses a job resumes it.
"""

import re

from google.protobuf import json_format

T0 = 1767225600
KB_PER_GIB = 1024 * 1024

STATE_LETTERS = {'S': 'SUCCEEDED', 'R': 'RUNNING', 'D': 'DEAD',
                 'W': 'WAITING', 'P': 'DEPEND', 'E': 'EATEN'}

ALLOCATIONS = [  # name, tag
    ('local.general', 'general'),
    ('local.gpu', 'gpu'),
    ('local.desktop', 'desktop'),
]

HOSTS = [  # name, alloc, cores, memory GiB, gpus, hardware state, lock state
    ('render-01', 'local.general', 16, 64, 0, 'UP', 'OPEN'),
    ('render-02', 'local.general', 32, 128, 0, 'UP', 'OPEN'),
    ('render-03', 'local.gpu', 24, 96, 2, 'DOWN', 'OPEN'),
    ('desk-alice', 'local.desktop', 8, 32, 0, 'UP', 'NIMBY_LOCKED'),
]

SHOWS = ['testing', 'pipe']

GROUPS = [  # name, show, parent name (None for the show's root group)
    ('testing', 'testing', None),
    ('testing_lighting', 'testing', 'testing'),
    ('testing_fx', 'testing', 'testing'),
    ('pipe', 'pipe', None),
    ('pipe_comp', 'pipe', 'pipe'),
]

SUBSCRIPTIONS = [  # allocation, show, size, burst
    ('local.general', 'testing', 100, 200),
    ('local.general', 'pipe', 50, 100),
    ('local.gpu', 'pipe', 10, 20),
]

# name, show, shot, user, group, state, paused, priority, max cores,
# start offset from T0, [(layer, type, services, cores, states)]
JOBS = [
    ('testing-sh01-lighting_v3', 'testing', 'sh01', 'alice',
     'testing_lighting', 'PENDING', False, 100, 100.0, 3600,
     [('render', 'RENDER', ['arnold'], 4.0, 'SSSSRRDWWW'),
      ('comp', 'RENDER', ['nuke'], 1.0, 'PPPPP')]),
    ('testing-sh02-fx_sim_v1', 'testing', 'sh02', 'bruno',
     'testing_fx', 'PENDING', True, 50, 40.0, 5400,
     [('sim', 'RENDER', ['houdini'], 8.0, 'SSRWWWWW')]),
    ('pipe-sh10-comp_v12', 'pipe', 'sh10', 'chen',
     'pipe_comp', 'PENDING', False, 200, 250.0, 1800,
     [('prep', 'UTIL', ['shell'], 1.0, 'SSSSS'),
      ('render', 'RENDER', ['arnold'], 4.0, 'SSSSSSRREW'),
      ('comp', 'RENDER', ['nuke'], 2.0, 'WWWWWW')]),
    ('pipe-sh11-anim_playblast_v2', 'pipe', 'sh11', 'dana',
     'pipe', 'FINISHED', False, 100, 10.0, 600,
     [('playblast', 'RENDER', ['maya'], 1.0, 'SSSSS')]),
]

RUN_HOSTS = ['render-01', 'render-02']


class NotFound(Exception):
    pass


def make_id(kind, n):
    return '%08x-0000-4000-8000-%012x' % (kind, n)


def _frame_seconds(number, layer_index):
    # Spread durations so stats have distinct avg/low/high values.
    return 600 + 37 * number + 90 * layer_index


class Farm:
    """Read-only sample data. cls(full_name) returns the message class of a
    schema type; every object is built once, at start-up."""

    def __init__(self, cls):
        self.cls = cls
        self._build()

    def _msg(self, type_name, fields):
        return json_format.ParseDict(fields, self.cls(type_name)())

    def _build(self):
        self.facility = self._msg('facility.Facility', {
            'id': make_id(1, 1), 'name': 'local'})

        self.hosts = []
        for i, (name, alloc, cores, gib, gpus, state, lock) in enumerate(HOSTS, 1):
            mem = gib * KB_PER_GIB
            busy = 8 if name == 'render-01' else (4 if name == 'render-02' else 0)
            self.hosts.append(self._msg('host.Host', {
                'id': make_id(8, i), 'name': name, 'alloc_name': alloc,
                'nimby_enabled': lock == 'NIMBY_LOCKED', 'has_comment': False,
                'cores': float(cores), 'idle_cores': float(cores - busy),
                'memory': mem, 'idle_memory': mem - busy * 2 * KB_PER_GIB,
                'gpu_memory': gpus * 16 * KB_PER_GIB,
                'idle_gpu_memory': gpus * 16 * KB_PER_GIB,
                'total_swap': 8 * KB_PER_GIB, 'free_swap': 8 * KB_PER_GIB,
                'total_memory': mem, 'free_memory': mem - busy * 3 * KB_PER_GIB,
                'total_gpu_memory': gpus * 16 * KB_PER_GIB,
                'free_gpu_memory': gpus * 16 * KB_PER_GIB,
                'total_mcp': 200 * KB_PER_GIB, 'free_mcp': 150 * KB_PER_GIB,
                'load': busy * 100, 'boot_time': T0 - 10 * 86400,
                'ping_time': T0 + 7200 if state == 'UP' else T0 - 3600,
                'os': 'rhel9', 'tags': [alloc.split('.')[1], name.split('-')[0]],
                'state': state, 'lock_state': lock, 'thread_mode': 'AUTO',
                'gpus': float(gpus), 'idle_gpus': float(gpus)}))

        self.allocations = []
        for i, (name, tag) in enumerate(ALLOCATIONS, 1):
            hs = [h for h in self.hosts if h.alloc_name == name]
            cores = sum(h.cores for h in hs)
            idle = sum(h.idle_cores for h in hs if h.state == 0)
            self.allocations.append(self._msg('facility.Allocation', {
                'id': make_id(2, i), 'name': name, 'tag': tag,
                'facility': 'local', 'billable': tag != 'desktop',
                'stats': {
                    'cores': cores, 'available_cores': idle,
                    'idle_cores': idle, 'running_cores': cores - idle,
                    'locked_cores': sum(h.cores for h in hs if h.lock_state),
                    'hosts': len(hs),
                    'locked_hosts': sum(1 for h in hs if h.lock_state),
                    'down_hosts': sum(1 for h in hs if h.state == 1),
                    'gpus': sum(h.gpus for h in hs),
                    'available_gpus': sum(h.idle_gpus for h in hs),
                    'idle_gpus': sum(h.idle_gpus for h in hs)}}))

        self._build_jobs()

        self.shows = []
        for i, name in enumerate(SHOWS, 1):
            jobs = [j for j in self.jobs if j.show == name]
            st = [j.job_stats for j in jobs]
            self.shows.append(self._msg('show.Show', {
                'id': make_id(3, i), 'name': name,
                'default_min_cores': 1.0, 'default_max_cores': 200.0,
                'comment_email': '%s-pst@example.com' % name,
                'booking_enabled': True, 'dispatch_enabled': True,
                'active': True, 'scheduler_managed': False,
                'default_min_gpus': 0.0, 'default_max_gpus': 10.0,
                'show_stats': {
                    'running_frames': sum(s.running_frames for s in st),
                    'dead_frames': sum(s.dead_frames for s in st),
                    'pending_frames': sum(s.pending_frames for s in st),
                    'pending_jobs': sum(1 for j in jobs if j.state == 0),
                    'created_job_count': len(jobs),
                    'created_frame_count': sum(s.total_frames for s in st),
                    'rendered_frame_count': sum(s.succeeded_frames for s in st),
                    'failed_frame_count': sum(s.dead_frames for s in st),
                    'reserved_cores': sum(s.reserved_cores for s in st)}}))

        self.groups = []
        gid = {name: make_id(4, i) for i, (name, _, _) in enumerate(GROUPS, 1)}
        for name, show, parent in GROUPS:
            jobs = [j for j in self.jobs if j.group == name]
            st = [j.job_stats for j in jobs]
            self.groups.append(self._msg('job.Group', {
                'id': gid[name], 'name': name, 'department': 'Unknown',
                'default_job_priority': 100, 'default_job_min_cores': 1.0,
                'default_job_max_cores': 100.0, 'min_cores': 0.0,
                'max_cores': -1.0, 'level': 0 if parent is None else 1,
                'parent_id': gid[parent] if parent else '',
                'default_job_min_gpus': 0.0, 'default_job_max_gpus': 0.0,
                'min_gpus': 0.0, 'max_gpus': -1.0,
                'group_stats': {
                    'running_frames': sum(s.running_frames for s in st),
                    'dead_frames': sum(s.dead_frames for s in st),
                    'depend_frames': sum(s.depend_frames for s in st),
                    'waiting_frames': sum(s.waiting_frames for s in st),
                    'pending_jobs': sum(1 for j in jobs if j.state == 0),
                    'reserved_cores': sum(s.reserved_cores for s in st)}}))
        self.group_show = {gid[name]: show for name, show, _ in GROUPS}

        self.subscriptions = []
        for i, (alloc, show, size, burst) in enumerate(SUBSCRIPTIONS, 1):
            self.subscriptions.append(self._msg('subscription.Subscription', {
                'id': make_id(9, i), 'name': '%s.%s' % (alloc, show),
                'show_name': show, 'facility': 'local',
                'allocation_name': alloc, 'size': size, 'burst': burst,
                'reserved_cores': sum(
                    int(j.job_stats.reserved_cores) for j in self.jobs
                    if j.show == show) if alloc == 'local.general' else 0}))

    def _build_jobs(self):
        self.jobs, self.layers, self.frames = [], {}, {}
        layer_n = frame_n = 0
        run_i = 0
        for jn, (name, show, shot, user, group, jstate, paused, prio,
                 maxc, start_off, layer_specs) in enumerate(JOBS, 1):
            job_id = make_id(5, jn)
            start = T0 + start_off
            layers = []
            job_frames = []
            for li, (lname, ltype, services, cores, states) in enumerate(layer_specs):
                layer_n += 1
                layer_id = make_id(6, layer_n)
                frames = []
                for num, letter in enumerate(states, 1):
                    frame_n += 1
                    state = STATE_LETTERS[letter]
                    secs = _frame_seconds(num, li)
                    f = {'id': make_id(7, frame_n),
                         'name': '%04d-%s' % (num, lname),
                         'layer_name': lname, 'number': num, 'state': state,
                         'retry_count': 0, 'exit_status': 0,
                         'dispatch_order': num - 1,
                         'reserved_memory': 4 * KB_PER_GIB,
                         'checkpoint_state': 'DISABLED',
                         'submission_time': start, 'eligible_time': start}
                    if letter in 'SDR':
                        f_start = start + 60 + 30 * num + 900 * li
                        f['start_time'] = f_start
                        f['max_rss'] = (2 + num % 3) * KB_PER_GIB
                        f['max_pss'] = f['max_rss'] - 65536
                        f['llu_time'] = f_start + secs // 2
                        if letter == 'R':
                            run_host = RUN_HOSTS[run_i % len(RUN_HOSTS)]
                            run_i += 1
                            f['used_memory'] = f['max_rss'] - 131072
                            f['used_pss'] = f['used_memory'] - 65536
                            f['last_resource'] = '%s/%.2f/0' % (run_host, cores)
                            f['total_core_time'] = int(cores * secs / 2)
                        else:
                            f['stop_time'] = f_start + secs
                            f['last_resource'] = 'render-01/%.2f/0' % cores
                            f['total_core_time'] = int(cores * secs)
                        if letter == 'D':
                            f['exit_status'] = 1
                            f['retry_count'] = 3
                    frames.append(self._msg('job.Frame', f))
                stats = self._stats(frames, cores, layer=True)
                layers.append(self._msg('job.Layer', {
                    'id': layer_id, 'name': lname,
                    'range': '1-%d' % len(states), 'tags': ['general'],
                    'min_cores': cores, 'max_cores': 0.0,
                    'is_threadable': cores > 1, 'min_memory': 4 * KB_PER_GIB,
                    'min_gpu_memory': 0, 'chunk_size': 1,
                    'dispatch_order': li, 'type': ltype, 'services': services,
                    'memory_optimizer_enabled': True, 'layer_stats': stats,
                    'parent_id': job_id, 'limits': [], 'timeout': 0,
                    'timeout_llu': 0, 'min_gpus': 0.0, 'max_gpus': 0.0,
                    'command': '/shots/%s/%s/bin/%s.sh -frame #IFRAME#' % (
                        show, shot, lname),
                    'eligible_time': start, 'start_time': start + 60,
                    'stop_time': 0}))
                self.frames[layer_id] = frames
                job_frames.extend(frames)
            jstats = self._stats(job_frames, None, layer=False)
            jstats['total_layers'] = len(layers)
            finished = jstate == 'FINISHED'
            self.jobs.append(self._msg('job.Job', {
                'id': job_id, 'state': jstate, 'name': name, 'shot': shot,
                'show': show, 'user': user, 'group': group,
                'facility': 'local', 'os': 'rhel9', 'uid': 1000 + jn,
                'priority': prio, 'min_cores': 1.0, 'max_cores': maxc,
                'log_dir': '/shots/%s/%s/logs/%s--%s' % (show, shot, name, job_id),
                'is_paused': paused, 'has_comment': jn == 2,
                'auto_eat': False, 'start_time': start,
                'stop_time': start + 4 * 3600 if finished else 0,
                'job_stats': jstats, 'min_gpus': 0.0, 'max_gpus': 0.0,
                'loki_url': '', 'eligible_time': start}))
            self.layers[job_id] = layers
        self.all_layers = [l for j in self.jobs for l in self.layers[j.id]]

    @staticmethod
    def _stats(frames, cores, layer):
        # Frame states as enum numbers: WAITING 0, RUNNING 2, SUCCEEDED 3,
        # DEPEND 4, DEAD 5, EATEN 6.
        count = lambda s: sum(1 for f in frames if f.state == s)
        done = [f for f in frames if f.state in (3, 5)]
        durs = [f.stop_time - f.start_time for f in done if f.state == 3]
        core_total = sum(f.total_core_time for f in frames)
        rendered = sum(f.total_core_time for f in frames if f.state == 3)
        failed = sum(f.total_core_time for f in frames if f.state == 5)
        running = [f for f in frames if f.state == 2]
        reserved = sum(float(f.last_resource.split('/')[1]) for f in running)
        s = {'total_frames': len(frames), 'waiting_frames': count(0),
             'running_frames': count(2), 'dead_frames': count(5),
             'eaten_frames': count(6), 'depend_frames': count(4),
             'succeeded_frames': count(3),
             'pending_frames': count(0) + count(4),
             'avg_frame_sec': sum(durs) // len(durs) if durs else 0,
             'high_frame_sec': max(durs) if durs else 0,
             'avg_core_sec': (rendered // len(durs)) if durs else 0,
             'rendered_frame_count': count(3), 'failed_frame_count': count(5),
             'remaining_core_sec': (count(0) + count(4) + count(2)) * 1200,
             'total_core_sec': core_total, 'rendered_core_sec': rendered,
             'failed_core_sec': failed,
             'max_rss': max((f.max_rss for f in frames), default=0),
             'max_pss': max((f.max_pss for f in frames), default=0),
             'reserved_cores': reserved}
        if layer:
            s['low_frame_sec'] = min(durs) if durs else 0
        return s

    # -- lookups -----------------------------------------------------------

    def show(self, name='', show_id=''):
        for s in self.shows:
            if (show_id and s.id == show_id) or (not show_id and s.name == name):
                return s
        raise NotFound('show not found: %s' % (show_id or name))

    def job(self, name='', job_id=''):
        for j in self.jobs:
            if (job_id and j.id == job_id) or (not job_id and j.name == name):
                return j
        raise NotFound('job not found: %s' % (job_id or name))

    def job_of(self, msg):
        """A job given as a job.Job message: by id, else by name."""
        return self.job(name=msg.name, job_id=msg.id)

    def layer(self, layer_id='', job=None, name=''):
        pool = self.layers[job.id] if job is not None else self.all_layers
        for l in pool:
            if (layer_id and l.id == layer_id) or (not layer_id and l.name == name):
                return l
        raise NotFound('layer not found: %s' % (layer_id or name))

    def layer_of(self, msg):
        if msg.id:
            return self.layer(layer_id=msg.id)
        job = self.job(job_id=msg.parent_id) if msg.parent_id else None
        return self.layer(job=job, name=msg.name)

    def host(self, name='', host_id=''):
        for h in self.hosts:
            if (host_id and h.id == host_id) or (not host_id and h.name == name):
                return h
        raise NotFound('host not found: %s' % (host_id or name))

    def allocation(self, name='', alloc_id=''):
        for a in self.allocations:
            if (alloc_id and a.id == alloc_id) or (not alloc_id and a.name == name):
                return a
        raise NotFound('allocation not found: %s' % (alloc_id or name))

    def group(self, group_id='', show='', name=''):
        for g in self.groups:
            if group_id and g.id == group_id:
                return g
            if not group_id and g.name == name and (
                    not show or self.group_show[g.id] == show):
                return g
        raise NotFound('group not found: %s' % (group_id or name))

    def job_frames(self, job):
        return [f for l in self.layers[job.id] for f in self.frames[l.id]]

    def sample(self, type_name):
        """A populated farm object of the given type, if the farm has one."""
        return {
            'job.Job': self.jobs[0], 'job.Layer': self.all_layers[0],
            'job.Frame': self.frames[self.all_layers[0].id][0],
            'job.Group': self.groups[0], 'show.Show': self.shows[0],
            'host.Host': self.hosts[0], 'facility.Allocation': self.allocations[0],
            'facility.Facility': self.facility,
            'subscription.Subscription': self.subscriptions[0],
        }.get(type_name)


# -- search criteria -------------------------------------------------------

def match_jobs(farm, r):
    """JobSearchCriteria: categories combine with AND, values within one
    category with OR; finished jobs only with include_finished."""
    out = []
    for j in farm.jobs:
        if j.state == 1 and not r.include_finished:
            continue
        if r.ids and j.id not in r.ids:
            continue
        if r.jobs and j.name not in r.jobs:
            continue
        if r.regex and not any(_search(p, j.name) for p in r.regex):
            continue
        if r.substr and not any(s in j.name for s in r.substr):
            continue
        if r.users and j.user not in r.users:
            continue
        if r.shots and j.shot not in r.shots:
            continue
        if r.shows and j.show not in r.shows:
            continue
        out.append(j)
    return out


def _search(pattern, text):
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _frame_numbers(spec):
    """Frame range text as Cuebot writes it: "1-10", "3", "1-10x2", comma
    lists of those. None when the text cannot be read."""
    nums = set()
    for part in spec.split(','):
        m = re.fullmatch(r'\s*(-?\d+)(?:-(-?\d+)(?:[x:](\d+))?)?\s*', part)
        if not m:
            return None
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        step = int(m.group(3)) if m.group(3) else 1
        if step <= 0:
            return None
        nums.update(range(min(a, b), max(a, b) + 1, step))
    return nums


def match_frames(frames, c):
    """FrameSearchCriteria: ids, frame names, layer names, states and
    frame_range filter; page/limit (pages count from 1) and offset/max_results
    cut the result."""
    nums = _frame_numbers(c.frame_range) if c.frame_range else None
    states = set(c.states.frame_states) if c.HasField('states') else set()
    out = []
    for f in frames:
        if c.ids and f.id not in c.ids:
            continue
        if c.frames and f.name not in c.frames:
            continue
        if c.layers and f.layer_name not in c.layers:
            continue
        if states and f.state not in states:
            continue
        if c.frame_range and (nums is None or f.number not in nums):
            continue
        out.append(f)
    if c.limit > 0:
        start = max(c.page - 1, 0) * c.limit
        out = out[start:start + c.limit]
    if c.offset > 0:
        out = out[c.offset:]
    if c.max_results > 0:
        out = out[:c.max_results]
    return out


def match_hosts(farm, r):
    states = set(r.states.state) if r.HasField('states') else set()
    locks = set(r.lock_states.state) if r.HasField('lock_states') else set()
    out = []
    for h in farm.hosts:
        if r.hosts and h.name not in r.hosts:
            continue
        if r.ids and h.id not in r.ids:
            continue
        if r.regex and not any(_search(p, h.name) for p in r.regex):
            continue
        if r.substr and not any(s in h.name for s in r.substr):
            continue
        if r.allocs and h.alloc_name not in r.allocs:
            continue
        if states and h.state not in states:
            continue
        if locks and h.lock_state not in locks:
            continue
        out.append(h)
    return out


# -- answers ---------------------------------------------------------------
# Each answer fills the response message in place from the request; methods
# without an entry answer with the empty response.

ANSWERS = {}


def answers(*paths):
    def register(fn):
        for p in paths:
            ANSWERS[p] = fn
        return fn
    return register


@answers('/show.ShowInterface/GetShows')
def _shows(farm, req, resp):
    resp.shows.shows.extend(farm.shows)


@answers('/show.ShowInterface/GetActiveShows')
def _active_shows(farm, req, resp):
    resp.shows.shows.extend(s for s in farm.shows if s.active)


@answers('/show.ShowInterface/FindShow')
def _find_show(farm, req, resp):
    resp.show.CopyFrom(farm.show(name=req.name))


def _show_of(farm, msg):
    return farm.show(name=msg.name, show_id=msg.id)


@answers('/show.ShowInterface/GetJobs')
def _show_jobs(farm, req, resp):
    show = _show_of(farm, req.show)
    resp.jobs.jobs.extend(j for j in farm.jobs if j.show == show.name and j.state != 1)


@answers('/show.ShowInterface/GetGroups')
def _show_groups(farm, req, resp):
    show = _show_of(farm, req.show)
    resp.groups.groups.extend(g for g in farm.groups if farm.group_show[g.id] == show.name)


@answers('/show.ShowInterface/GetRootGroup')
def _show_root(farm, req, resp):
    show = _show_of(farm, req.show)
    resp.group.CopyFrom(farm.group(show=show.name, name=show.name))


@answers('/show.ShowInterface/GetSubscriptions')
def _show_subs(farm, req, resp):
    show = _show_of(farm, req.show)
    resp.subscriptions.subscriptions.extend(
        s for s in farm.subscriptions if s.show_name == show.name)


@answers('/job.JobInterface/GetJobs')
def _get_jobs(farm, req, resp):
    resp.jobs.jobs.extend(match_jobs(farm, req.r))


@answers('/job.JobInterface/Pause')
def _pause(farm, req, resp):
    farm.job_of(req.job).is_paused = True


@answers('/job.JobInterface/Resume')
def _resume(farm, req, resp):
    farm.job_of(req.job).is_paused = False


@answers('/job.JobInterface/GetJobNames')
def _get_job_names(farm, req, resp):
    resp.names.extend(j.name for j in match_jobs(farm, req.r))


@answers('/job.JobInterface/FindJob')
def _find_job(farm, req, resp):
    resp.job.CopyFrom(farm.job(name=req.name))


@answers('/job.JobInterface/GetJob')
def _get_job(farm, req, resp):
    resp.job.CopyFrom(farm.job(job_id=req.id))


@answers('/job.JobInterface/GetCurrent')
def _get_current(farm, req, resp):
    resp.job.CopyFrom(farm.job_of(req.job))


@answers('/job.JobInterface/IsJobPending')
def _is_pending(farm, req, resp):
    resp.value = any(j.name == req.name and j.state == 0 for j in farm.jobs)


@answers('/job.JobInterface/GetLayers')
def _get_layers(farm, req, resp):
    resp.layers.layers.extend(farm.layers[farm.job_of(req.job).id])


@answers('/job.JobInterface/GetFrames')
def _job_frames(farm, req, resp):
    job = farm.job_of(req.job)
    resp.frames.frames.extend(match_frames(farm.job_frames(job), req.req))


@answers('/job.FrameInterface/GetFrames')
def _frame_iface_frames(farm, req, resp):
    try:
        job = farm.job(job_id=req.job)
    except NotFound:
        job = farm.job(name=req.job)
    resp.frames.frames.extend(match_frames(farm.job_frames(job), req.r))


@answers('/job.FrameInterface/GetFrame')
def _get_frame(farm, req, resp):
    for fs in farm.frames.values():
        for f in fs:
            if f.id == req.id:
                resp.frame.CopyFrom(f)
                return
    raise NotFound('frame not found: %s' % req.id)


@answers('/job.FrameInterface/FindFrame')
def _find_frame(farm, req, resp):
    job = farm.job(name=req.job)
    layer = farm.layer(job=job, name=req.layer)
    for f in farm.frames[layer.id]:
        if f.number == req.frame:
            resp.frame.CopyFrom(f)
            return
    raise NotFound('frame not found: %s/%s/%d' % (req.job, req.layer, req.frame))


@answers('/job.LayerInterface/GetFrames')
def _layer_frames(farm, req, resp):
    layer = farm.layer_of(req.layer)
    resp.frames.frames.extend(match_frames(farm.frames[layer.id], req.s))


@answers('/job.LayerInterface/GetLayer')
def _get_layer(farm, req, resp):
    resp.layer.CopyFrom(farm.layer(layer_id=req.id))


@answers('/job.LayerInterface/FindLayer')
def _find_layer(farm, req, resp):
    resp.layer.CopyFrom(farm.layer(job=farm.job(name=req.job), name=req.layer))


@answers('/job.GroupInterface/GetGroup')
def _get_group(farm, req, resp):
    resp.group.CopyFrom(farm.group(group_id=req.id))


@answers('/job.GroupInterface/FindGroup')
def _find_group(farm, req, resp):
    resp.group.CopyFrom(farm.group(show=req.show, name=req.name))


def _group_of(farm, msg):
    return farm.group(group_id=msg.id) if msg.id else farm.group(name=msg.name)


@answers('/job.GroupInterface/GetGroups')
def _group_children(farm, req, resp):
    parent = _group_of(farm, req.group)
    resp.groups.groups.extend(g for g in farm.groups if g.parent_id == parent.id)


@answers('/job.GroupInterface/GetJobs')
def _group_jobs(farm, req, resp):
    group = _group_of(farm, req.group)
    resp.jobs.jobs.extend(j for j in farm.jobs if j.group == group.name and j.state != 1)


@answers('/host.HostInterface/GetHosts')
def _get_hosts(farm, req, resp):
    resp.hosts.hosts.extend(match_hosts(farm, req.r))


@answers('/host.HostInterface/FindHost')
def _find_host(farm, req, resp):
    resp.host.CopyFrom(farm.host(name=req.name))


@answers('/host.HostInterface/GetHost')
def _get_host(farm, req, resp):
    resp.host.CopyFrom(farm.host(host_id=req.id))


@answers('/facility.FacilityInterface/Get')
def _get_facility(farm, req, resp):
    if req.name != farm.facility.name:
        raise NotFound('facility not found: %s' % req.name)
    resp.facility.CopyFrom(farm.facility)


@answers('/facility.FacilityInterface/GetAllocations')
def _facility_allocs(farm, req, resp):
    f = req.facility
    if (f.id or f.name) and f.id != farm.facility.id and f.name != farm.facility.name:
        raise NotFound('facility not found: %s' % (f.id or f.name))
    resp.allocations.allocations.extend(farm.allocations)


@answers('/facility.AllocationInterface/GetAll')
def _all_allocs(farm, req, resp):
    resp.allocations.allocations.extend(farm.allocations)


@answers('/facility.AllocationInterface/Find')
def _find_alloc(farm, req, resp):
    resp.allocation.CopyFrom(farm.allocation(name=req.name))


@answers('/facility.AllocationInterface/Get')
def _get_alloc(farm, req, resp):
    resp.allocation.CopyFrom(farm.allocation(alloc_id=req.id))


@answers('/facility.AllocationInterface/GetDefault')
def _default_alloc(farm, req, resp):
    resp.allocation.CopyFrom(farm.allocations[0])


def _alloc_of(farm, msg):
    return farm.allocation(name=msg.name, alloc_id=msg.id)


@answers('/facility.AllocationInterface/GetHosts')
def _alloc_hosts(farm, req, resp):
    alloc = _alloc_of(farm, req.allocation)
    resp.hosts.hosts.extend(h for h in farm.hosts if h.alloc_name == alloc.name)


@answers('/facility.AllocationInterface/FindHosts')
def _alloc_find_hosts(farm, req, resp):
    alloc = _alloc_of(farm, req.allocation)
    resp.hosts.hosts.extend(
        h for h in match_hosts(farm, req.r) if h.alloc_name == alloc.name)


@answers('/facility.AllocationInterface/GetSubscriptions')
def _alloc_subs(farm, req, resp):
    alloc = _alloc_of(farm, req.allocation)
    resp.subscriptions.subscriptions.extend(
        s for s in farm.subscriptions if s.allocation_name == alloc.name)


@answers('/subscription.SubscriptionInterface/Get')
def _get_sub(farm, req, resp):
    for s in farm.subscriptions:
        if s.id == req.id:
            resp.subscription.CopyFrom(s)
            return
    raise NotFound('subscription not found: %s' % req.id)


@answers('/subscription.SubscriptionInterface/Find')
def _find_sub(farm, req, resp):
    for s in farm.subscriptions:
        if s.name == req.name:
            resp.subscription.CopyFrom(s)
            return
    raise NotFound('subscription not found: %s' % req.name)
