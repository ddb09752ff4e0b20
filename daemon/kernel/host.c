/* SPDX-License-Identifier: MIT */
#include "kernel/host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/output.h"
#include "lib/util.h"

/* A cpulist of every other CPU up to 65535 is ~190 KiB. */
#define CPULIST_FILE_MAX (1024 * 1024)
/* Hosts with thousands of mounts (container runtimes) reach a few MiB. */
#define MOUNTINFO_MAX (16 * 1024 * 1024)
/* MAX_NUMNODES is 1 << NODES_SHIFT, at most 1024 on any architecture today. */
#define HOST_MAX_NODES 4096u

#define CPU_DIR "sys/devices/system/cpu/"
#define NODE_DIR "sys/devices/system/node"

static char *path_join_root(const char *root, const char *path) {
        size_t n = strlen(root);
        return xasprintf("%s%s%s", root, n > 0 && root[n - 1] == '/' ? "" : "/", path);
}

/* Read and parse one cpulist file below dirfd. optional: a missing or empty
 * file is the empty set. On failure *ret_error (if non-NULL) says why, naming
 * root/path. */
static int read_cpulist_at(int dirfd, const char *root, const char *path, bool optional, CpuSet **ret,
                           char **ret_error) {
        _cleanup_(freep) char *text = NULL;
        CpuSetError err = {0};
        CpuSet *s;
        int r;

        r = read_file_alloc_at(dirfd, path, CPULIST_FILE_MAX, &text, NULL);
        if (r == -ENOENT && optional) {
                s = cpuset_new();
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        if (r < 0) {
                if (ret_error) {
                        _cleanup_(freep) char *full = path_join_root(root ? root : "", path);
                        *ret_error = xasprintf("cannot read %s: %s", full ? full : path, strerror(-r));
                }
                return r;
        }
        /* Kernels built with NO_HZ_FULL but booted without nohz_full= print
         * "(null)" there (Debian 12's 6.1 does): no CPU. */
        if (optional && strcmp(strstrip(text), "(null)") == 0)
                text[0] = '\0';
        r = cpuset_parse_list(text, &s, &err);
        if (r == -EINVAL) {
                if (ret_error) {
                        /* The token comes from a file of the tree (reads
                         * never leave it) and is escaped: it may hold any byte. */
                        _cleanup_(freep) char *full = path_join_root(root ? root : "", path);
                        _cleanup_(freep) char *tok = text_escape(err.token);
                        *ret_error = xasprintf("cannot parse %s: %s: '%s'", full ? full : path, err.reason,
                                               tok ? tok : "");
                }
                return -EBADMSG;
        }
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

/* "nodeN" with N a plain decimal number. */
static bool parse_node_name(const char *name, unsigned *ret) {
        if (strncmp(name, "node", 4) != 0 || name[4] < '0' || name[4] > '9')
                return false;
        if (name[4] == '0' && name[5] != '\0')
                return false;
        return parse_uint(name + 4, ret) >= 0;
}

static void free_nodes(CpuSet **nodes, unsigned n) {
        if (!nodes)
                return;
        for (unsigned i = 0; i < n; i++)
                cpuset_free(nodes[i]);
        free(nodes);
}

/* Every sys/devices/system/node/nodeN/cpulist. No node directory (a kernel
 * without CONFIG_NUMA) is no nodes, not an error. */
static int load_nodes(int rootfd, const char *root, CpuSet ***ret, unsigned *ret_n, char **ret_error) {
        CpuSet **nodes = NULL;
        unsigned n = 0;
        struct dirent *de;
        DIR *d;
        int r = dirfd_opendir(rootfd, NODE_DIR, &d);

        if (r < 0) {
                if (r != -ENOENT)
                        return r;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((r = dir_next(d, &de)) > 0) {
                unsigned id;
                char path[64];
                CpuSet *s;

                if (!parse_node_name(de->d_name, &id))
                        continue;
                if (id >= HOST_MAX_NODES) {
                        if (ret_error)
                                *ret_error = xasprintf("NUMA node %s: id too large (limit %u)", de->d_name,
                                                       HOST_MAX_NODES);
                        r = -ERANGE;
                        break;
                }
                snprintf(path, sizeof path, NODE_DIR "/node%u/cpulist", id);
                /* A memory-only node has an empty cpulist. */
                r = read_cpulist_at(rootfd, root, path, true, &s, ret_error);
                if (r < 0)
                        break;
                if (id >= n) {
                        CpuSet **nn = realloc(nodes, (id + 1) * sizeof(CpuSet *));
                        if (!nn) {
                                cpuset_free(s);
                                r = -ENOMEM;
                                break;
                        }
                        memset(nn + n, 0, (id + 1 - n) * sizeof(CpuSet *));
                        nodes = nn;
                        n = id + 1;
                }
                cpuset_free(nodes[id]);
                nodes[id] = s;
        }
        closedir(d);
        if (r < 0) {
                free_nodes(nodes, n);
                return r;
        }
        *ret = nodes;
        *ret_n = n;
        return 0;
}

/* Decode mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape_octal(char *s) {
        char *w = s;

        for (char *p = s; *p;) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
                    p[3] <= '7') {
                        *w++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 4;
                } else
                        *w++ = *p++;
        }
        *w = '\0';
}

/* Is `word` one of the comma-separated items of `list`? */
static bool list_has(const char *list, const char *word) {
        size_t wl = strlen(word);

        for (const char *p = list;;) {
                size_t n = strcspn(p, ",");
                if (n == wl && memcmp(p, word, wl) == 0)
                        return true;
                if (p[n] == '\0')
                        return false;
                p += n + 1;
        }
}

/* A path from /proc or mountinfo: absolute, and never climbing out of where
 * it points ("/.." is how a task outside our cgroup namespace shows up). These
 * paths are joined below the root directory, so ".." could leave it. */
static int check_abs_path(const char *p) {
        if (p[0] != '/')
                return -EINVAL;
        for (const char *s = p; *s;) {
                size_t n;
                s += strspn(s, "/");
                n = strcspn(s, "/");
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return -EINVAL;
                s += n;
        }
        return 0;
}

static int set_mount(char **path, char **root, const char *mount_point, const char *mount_root) {
        const char *rel = mount_point;
        char *p, *r;

        if (*path)
                return 0; /* the first one wins */
        while (*rel == '/')
                rel++;
        p = strdup(*rel ? rel : ".");
        r = strdup(mount_root);
        if (!p || !r) {
                free(p);
                free(r);
                return -ENOMEM;
        }
        *path = p;
        *root = r;
        return 0;
}

int host_parse_mountinfo_buf(const char *buf, CgroupMounts *ret) {
        _cleanup_(cgroup_mounts_done) CgroupMounts m = {0};
        _cleanup_(freep) char *copy = strdup(buf);
        char *line, *next;
        int r;

        if (!copy)
                return -ENOMEM;
        for (line = copy; line; line = next) {
                char *f[64], *tok, *rest;
                size_t n = 0, sep = 0;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';

                /* Single spaces separate fields; an empty field (a mount
                 * source of "") stays a field. */
                for (rest = line; (tok = strsep(&rest, " ")) && n < ELEMENTSOF(f);)
                        f[n++] = tok;
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS.
                 * Lines that do not have this shape are skipped: only cgroup
                 * lines matter, and a truncated capture should not hide them. */
                for (size_t i = 6; i < n; i++)
                        if (strcmp(f[i], "-") == 0) {
                                sep = i;
                                break;
                        }
                if (sep == 0 || sep + 3 >= n)
                        continue;
                const char *fstype = f[sep + 1], *superopts = f[sep + 3];
                unescape_octal(f[3]);
                unescape_octal(f[4]);
                /* The root may hold ".." (checked where it is used); the mount
                 * point is joined below our root directory, so it may not. */
                if (f[3][0] != '/' || check_abs_path(f[4]) < 0)
                        continue;

                if (strcmp(fstype, "cgroup2") == 0)
                        r = set_mount(&m.v2_path, &m.v2_root, f[4], f[3]);
                else if (strcmp(fstype, "cgroup") == 0) {
                        r = 0;
                        if (list_has(superopts, "cpuset"))
                                r = set_mount(&m.v1_cpuset_path, &m.v1_cpuset_root, f[4], f[3]);
                        if (r >= 0 && list_has(superopts, "name=systemd"))
                                r = set_mount(&m.v1_systemd_path, &m.v1_systemd_root, f[4], f[3]);
                } else
                        r = 0;
                if (r < 0)
                        return r;
        }
        *ret = m;
        m = (CgroupMounts){0};
        return 0;
}

void cgroup_mounts_done(CgroupMounts *m) {
        free(m->v2_path);
        free(m->v2_root);
        free(m->v1_cpuset_path);
        free(m->v1_cpuset_root);
        free(m->v1_systemd_path);
        free(m->v1_systemd_root);
        *m = (CgroupMounts){0};
}

static int load_mounts(int rootfd, const char *root, CgroupMounts *ret, char **ret_error) {
        _cleanup_(freep) char *text = NULL;
        int r;

        r = read_file_alloc_at(rootfd, "proc/self/mountinfo", MOUNTINFO_MAX, &text, NULL);
        if (r == -ENOENT) {
                /* A captured tree without mountinfo: no cgroup information,
                 * so no cpuset limits are known (the kernel still enforces them). */
                *ret = (CgroupMounts){0};
                return 0;
        }
        if (r < 0) {
                if (ret_error) {
                        _cleanup_(freep) char *full = path_join_root(root, "proc/self/mountinfo");
                        *ret_error = xasprintf("cannot read %s: %s", full ? full : "mountinfo", strerror(-r));
                }
                return r;
        }
        return host_parse_mountinfo_buf(text, ret);
}

void host_free(Host *h) {
        if (!h)
                return;
        /* rootfd is -1 in a Host built by hand (tests): nothing to close. */
        if (h->rootfd >= 0)
                dirfd_close(h->root);
        cpuset_free(h->possible);
        cpuset_free(h->online);
        cpuset_free(h->isolated);
        cpuset_free(h->nohz_full);
        cpuset_free(h->housekeeping);
        cpuset_free(h->isolcpus);
        partitions_free(h->partitions);
        topology_free(h->topology);
        free_nodes(h->nodes, h->n_nodes);
        cgroup_mounts_done(&h->mounts);
        free(h->root_path);
        free(h);
}

static void host_freep(Host **h) {
        host_free(*h);
}

/* online, isolated, nohz_full and housekeeping, read together so a refresh
 * either replaces all of them or none. */
typedef struct CpuState {
        CpuSet *online, *isolated, *nohz_full, *housekeeping, *isolcpus;
        Partitions *partitions;
        Topology *topology;
} CpuState;

static void cpu_state_done(CpuState *c) {
        cpuset_free(c->online);
        cpuset_free(c->isolated);
        cpuset_free(c->nohz_full);
        cpuset_free(c->housekeeping);
        cpuset_free(c->isolcpus);
        partitions_free(c->partitions);
        topology_free(c->topology);
        *c = (CpuState){0};
}

/* online, isolated, nohz_full, housekeeping, the partitions and the
 * topology, read together so a refresh either replaces all of them or none.
 * The partitions are found through `mounts`. */
static int load_cpu_state(const Host *h, const CgroupMounts *mounts, const char *root, CpuState *ret,
                          char **ret_error) {
        _cleanup_(cpu_state_done) CpuState c = {0};
        int rootfd = h->root, r;

        r = read_cpulist_at(rootfd, root, CPU_DIR "online", false, &c.online, ret_error);
        if (r < 0)
                return r;
        /* Absent without isolcpus= / nohz_full= on older kernels; empty otherwise. */
        r = read_cpulist_at(rootfd, root, CPU_DIR "isolated", true, &c.isolcpus, ret_error);
        if (r < 0)
                return r;
        r = read_cpulist_at(rootfd, root, CPU_DIR "nohz_full", true, &c.nohz_full, ret_error);
        if (r < 0)
                return r;
        r = partitions_load(rootfd, mounts->v2_path, &c.partitions, ret_error);
        if (r < 0)
                return r;
        /* The topology changes only with the online CPUs (hotplug, SMT
         * control): reading it is ~70 µs per CPU, a third of a second on a
         * 4096-CPU host, too much for every refresh. NULL = keep the old. */
        if (!h->topology || !h->online || !cpuset_equal(c.online, h->online)) {
                r = topology_load(rootfd, h->possible, &c.topology, ret_error);
                if (r < 0)
                        return r;
        }
        c.isolated = cpuset_dup(c.isolcpus);
        if (!c.isolated || cpuset_or(c.isolated, c.partitions->isolated) < 0)
                return -ENOMEM;
        c.housekeeping = cpuset_dup(c.online);
        if (!c.housekeeping)
                return -ENOMEM;
        cpuset_andnot(c.housekeeping, c.isolated);
        *ret = c;
        c = (CpuState){0};
        return 0;
}

static void host_take_cpu_state(Host *h, CpuState *cs) {
        CpuState old = {h->online,
                        h->isolated,
                        h->nohz_full,
                        h->housekeeping,
                        h->isolcpus,
                        h->partitions,
                        cs->topology ? h->topology : NULL};

        cpu_state_done(&old);
        h->online = cs->online;
        h->isolated = cs->isolated;
        h->nohz_full = cs->nohz_full;
        h->housekeeping = cs->housekeeping;
        h->isolcpus = cs->isolcpus;
        h->partitions = cs->partitions;
        if (cs->topology)
                h->topology = cs->topology;
        *cs = (CpuState){0};
}

static int host_load_into(Host *h, const char *root, char **error) {
        CpuState cs = {0};
        int last, r;

        h->root = dirfd_open_root(root);
        if (h->root < 0) {
                r = h->root;
                *error = xasprintf("cannot open root directory %s: %s", root, strerror(-r));
                return r;
        }
        h->rootfd = dirfd_fd(h->root);
        h->root_path = strdup(root);
        if (!h->root_path)
                return -ENOMEM;

        r = read_cpulist_at(h->root, root, CPU_DIR "possible", false, &h->possible, error);
        if (r < 0)
                return r;
        last = cpuset_last(h->possible);
        if (last < 0) {
                _cleanup_(freep) char *full = path_join_root(root, CPU_DIR "possible");
                *error = xasprintf("%s: no possible CPUs", full ? full : "possible");
                return -EBADMSG;
        }
        h->nr_cpu_ids = (unsigned) last + 1;
        /* What sched_getaffinity() needs: CPU_ALLOC_SIZE rounded up to whole
         * unsigned longs (it is already, with glibc's __cpu_mask). */
        h->affinity_bytes = CPU_ALLOC_SIZE(h->nr_cpu_ids);
        h->affinity_bytes = (h->affinity_bytes + sizeof(unsigned long) - 1) / sizeof(unsigned long) *
                            sizeof(unsigned long);

        /* The mounts first: the partitions are found through them. */
        r = load_mounts(h->root, root, &h->mounts, error);
        if (r < 0)
                return r;
        r = load_cpu_state(h, &h->mounts, root, &cs, error);
        if (r < 0)
                return r;
        host_take_cpu_state(h, &cs);

        r = load_nodes(h->root, root, &h->nodes, &h->n_nodes, error);
        if (r < 0) {
                if (!*error) {
                        _cleanup_(freep) char *full = path_join_root(root, NODE_DIR);
                        *error = xasprintf("cannot read %s: %s", full ? full : NODE_DIR, strerror(-r));
                }
                return r;
        }
        return 0;
}

int host_load(const char *root, Host **ret, char **ret_error) {
        _cleanup_(host_freep) Host *h = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        h = calloc(1, sizeof(Host));
        if (!h)
                return -ENOMEM;
        h->root = h->rootfd = -1;
        r = host_load_into(h, root, &error);
        if (r < 0) {
                if (ret_error)
                        *ret_error = error ? TAKE_PTR(error)
                                           : xasprintf("cannot load host from %s: %s", root, strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(h);
        return 0;
}

int host_refresh(Host *h, char **ret_error) {
        _cleanup_(cpu_state_done) CpuState cs = {0};
        _cleanup_(cgroup_mounts_done) CgroupMounts mounts = {0};
        _cleanup_(freep) char *error = NULL;
        CpuSet **nodes = NULL;
        unsigned n_nodes = 0;
        int r;

        /* Everything is read first; the Host changes only when all of it
         * was read and parsed. possible is fixed at boot, so it stays. */
        r = load_mounts(h->root, h->root_path, &mounts, &error);
        if (r >= 0)
                r = load_cpu_state(h, &mounts, h->root_path, &cs, &error);
        if (r >= 0) {
                r = load_nodes(h->root, h->root_path, &nodes, &n_nodes, &error);
                if (r < 0 && !error) {
                        _cleanup_(freep) char *full = path_join_root(h->root_path, NODE_DIR);
                        error = xasprintf("cannot read %s: %s", full ? full : NODE_DIR, strerror(-r));
                }
        }
        if (r < 0) {
                free_nodes(nodes, n_nodes);
                if (ret_error)
                        *ret_error = error ? TAKE_PTR(error)
                                           : xasprintf("cannot re-read the host below %s: %s", h->root_path,
                                                       strerror(-r));
                return r;
        }

        host_take_cpu_state(h, &cs);
        free_nodes(h->nodes, h->n_nodes);
        h->nodes = nodes;
        h->n_nodes = n_nodes;
        cgroup_mounts_done(&h->mounts);
        h->mounts = mounts;
        mounts = (CgroupMounts){0};
        return 0;
}

int host_refresh_cpus(Host *h) {
        return host_refresh(h, NULL);
}

const char *host_isolated_source(const Host *h, unsigned cpu) {
        const char *s = partitions_source(h->partitions, cpu);

        /* Newer kernels list isolcpus= CPUs in the root's cpuset.cpus.isolated
         * too: one no named partition holds is isolcpus'. */
        if (s && (strcmp(s, PART_UNNAMED) != 0 || !h->isolcpus || !cpuset_has(h->isolcpus, cpu)))
                return s;
        return h->isolcpus && cpuset_has(h->isolcpus, cpu) ? "isolcpus" : NULL;
}

int host_open_proc(const Host *h) {
        return dirfd_open_dir(h->root, "proc");
}

const CpuSet *host_node_cpus(const Host *h, unsigned node) {
        return node < h->n_nodes ? h->nodes[node] : NULL;
}

void task_cgroups_done(TaskCgroups *c) {
        free(c->v2);
        free(c->v1_cpuset);
        free(c->v1_systemd);
        *c = (TaskCgroups){0};
}

static int set_path(char **dst, const char *path, size_t len) {
        if (*dst)
                return 0; /* the first line wins */
        *dst = strndup(path, len);
        return *dst ? 0 : -ENOMEM;
}

int task_cgroups_parse_buf(const char *buf, TaskCgroups *ret) {
        _cleanup_(task_cgroups_done) TaskCgroups c = {0};
        const char *line = buf;

        while (*line) {
                const char *eol = strchrnul(line, '\n'), *c1, *c2;
                size_t idlen;
                int r = 0;

                if (eol == line) {
                        line++;
                        continue;
                }
                /* "ID:controllers:path"; the path may itself contain ':'. */
                c1 = memchr(line, ':', (size_t) (eol - line));
                if (!c1)
                        return -EBADMSG;
                c2 = memchr(c1 + 1, ':', (size_t) (eol - c1 - 1));
                if (!c2)
                        return -EBADMSG;
                idlen = (size_t) (c1 - line);
                if (idlen == 0 || strspn(line, "0123456789") < idlen)
                        return -EBADMSG;

                const char *path = c2 + 1;
                size_t plen = (size_t) (eol - path);
                if (idlen == 1 && line[0] == '0' && c2 == c1 + 1)
                        r = set_path(&c.v2, path, plen);
                else {
                        _cleanup_(freep) char *ctrl = strndup(c1 + 1, (size_t) (c2 - c1 - 1));
                        if (!ctrl)
                                return -ENOMEM;
                        if (list_has(ctrl, "cpuset"))
                                r = set_path(&c.v1_cpuset, path, plen);
                        if (r >= 0 && list_has(ctrl, "name=systemd"))
                                r = set_path(&c.v1_systemd, path, plen);
                }
                if (r < 0)
                        return r;
                line = *eol ? eol + 1 : eol;
        }
        *ret = c;
        c = (TaskCgroups){0};
        return 0;
}

const char *task_cgroups_match_path(const TaskCgroups *c) {
        /* On a hybrid or legacy host systemd keeps its tree in name=systemd
         * and the unified hierarchy may show "/" for every task; only when
         * there is no name=systemd line is the v2 path systemd's. */
        if (c->v1_systemd)
                return c->v1_systemd;
        return c->v2;
}

/* The cpus file of the task's cgroup in one hierarchy, or of its nearest
 * ancestor that has one, up to the mount's root. *ret = NULL when none has
 * it or the task's cgroup is not below what the mount shows. */
static int hierarchy_cpus(int rootfd, const char *mount, const char *mount_root, const char *path,
                          const char *file, CpuSet **ret) {
        char dir[PATH_MAX], full[PATH_MAX];
        const char *rel;
        size_t floor, len, rootlen;
        int r;

        r = check_abs_path(path);
        if (r < 0)
                return r;
        /* A mount of a hierarchy outside our cgroup namespace shows a root
         * of "/.."; nothing below it can be mapped to a task's path. */
        if (check_abs_path(mount_root) < 0) {
                *ret = NULL;
                return 0;
        }

        /* Strip the part of the hierarchy above the mount. */
        rootlen = strlen(mount_root);
        while (rootlen > 0 && mount_root[rootlen - 1] == '/')
                rootlen--;
        if (strncmp(path, mount_root, rootlen) != 0 || (path[rootlen] != '/' && path[rootlen] != '\0')) {
                *ret = NULL;
                return 0;
        }
        rel = path + rootlen;
        rel += strspn(rel, "/");

        floor = strlen(mount);
        if (floor >= sizeof dir)
                return -ENAMETOOLONG;
        r = snprintf(dir, sizeof dir, "%s%s%s", mount, *rel ? "/" : "", rel);
        if (r < 0 || (size_t) r >= sizeof dir)
                return -ENAMETOOLONG;
        len = (size_t) r;
        while (len > floor && dir[len - 1] == '/')
                dir[--len] = '\0';

        for (;;) {
                _cleanup_(freep) char *text = NULL;
                CpuSetError err;
                CpuSet *s;

                r = snprintf(full, sizeof full, "%s/%s", dir, file);
                if (r < 0 || (size_t) r >= sizeof full)
                        return -ENAMETOOLONG;
                r = read_file_alloc_at(rootfd, full, CPULIST_FILE_MAX, &text, NULL);
                if (r >= 0) {
                        r = cpuset_parse_list(text, &s, &err);
                        if (r < 0)
                                return r == -EINVAL ? -EBADMSG : r;
                        *ret = s;
                        return 0;
                }
                if (r != -ENOENT && r != -ENOTDIR)
                        return r;
                if (len <= floor) {
                        *ret = NULL;
                        return 0;
                }
                /* Up one level, never above the mount point. */
                while (len > floor && dir[len - 1] != '/')
                        len--;
                while (len > floor && dir[len - 1] == '/')
                        len--;
                dir[len] = '\0';
        }
}

int host_task_cpuset(const Host *h, const TaskCgroups *c, CpuSet **ret) {
        const CgroupMounts *m = &h->mounts;

        if (m->v1_cpuset_path && c->v1_cpuset)
                return hierarchy_cpus(h->root, m->v1_cpuset_path, m->v1_cpuset_root, c->v1_cpuset,
                                      "cpuset.effective_cpus", ret);
        if (m->v2_path && c->v2)
                return hierarchy_cpus(h->root, m->v2_path, m->v2_root, c->v2, "cpuset.cpus.effective", ret);
        *ret = NULL;
        return 0;
}
