/* SPDX-License-Identifier: MIT */
#include "kernel/numa.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/procfs.h"
#include "lib/util.h"

/* <linux/mempolicy.h>, without libnuma's numaif.h. */
#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_INTERLEAVE 3
#define MPOL_PREFERRED_MANY 5

#define LONG_BITS (sizeof(unsigned long) * 8)

/* ---- nodes ------------------------------------------------------------------ */

unsigned numa_node_count(const Host *h) {
        unsigned n = 0;
        for (unsigned i = 0; i < h->n_nodes; i++)
                if (h->nodes[i])
                        n++;
        return n;
}

int numa_nodes_of_cpus(const Host *h, const CpuSet *cpus, CpuSet **ret) {
        CpuSet *s = cpuset_new();

        if (!s)
                return -ENOMEM;
        for (unsigned i = 0; cpus && i < h->n_nodes; i++) {
                if (!h->nodes[i])
                        continue;
                for (int c = cpuset_next(h->nodes[i], -1); c >= 0; c = cpuset_next(h->nodes[i], c))
                        if (cpuset_has(cpus, (unsigned) c)) {
                                if (cpuset_add(s, i) < 0) {
                                        cpuset_free(s);
                                        return -ENOMEM;
                                }
                                break;
                        }
        }
        *ret = s;
        return 0;
}

int numa_cpu_nodes(const Host *h, CpuSet **ret) {
        CpuSet *s = cpuset_new();

        if (!s)
                return -ENOMEM;
        for (unsigned i = 0; i < h->n_nodes; i++)
                if (h->nodes[i] && !cpuset_empty(h->nodes[i]) && cpuset_add(s, i) < 0) {
                        cpuset_free(s);
                        return -ENOMEM;
                }
        *ret = s;
        return 0;
}

/* ---- numa_maps ---------------------------------------------------------------- */

static int parse_hex64(const char *s, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        if (len == 0 || len > 16)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                unsigned d;
                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

/* A decimal count from a token of known length. */
static int parse_count(const char *s, size_t len, uint64_t *ret) {
        char buf[24];

        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return parse_u64(buf, ret);
}

static bool token_is(const char *tok, size_t len, const char *word) {
        return strlen(word) == len && memcmp(tok, word, len) == 0;
}

/* The counters of numa_maps a line may carry, by key. */
static uint64_t *vma_counter(NumaVma *v, const char *key, size_t len) {
        static const struct {
                const char *name;
                size_t offset;
        } keys[] = {
                {"anon", offsetof(NumaVma, anon)},           {"dirty", offsetof(NumaVma, dirty)},
                {"mapped", offsetof(NumaVma, mapped)},       {"mapmax", offsetof(NumaVma, mapmax)},
                {"swapcache", offsetof(NumaVma, swapcache)}, {"active", offsetof(NumaVma, active)},
                {"writeback", offsetof(NumaVma, writeback)},
        };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (token_is(key, len, keys[i].name))
                        return (uint64_t *) ((char *) v + keys[i].offset);
        return NULL;
}

typedef struct MapsBuilder {
        NumaMaps m;
        size_t cap_vmas, cap_pages;
} MapsBuilder;

static int push_node_pages(MapsBuilder *b, unsigned node, uint64_t pages) {
        if (b->m.n_pages == b->cap_pages) {
                size_t ncap = b->cap_pages ? b->cap_pages * 2 : 64;
                NumaNodePages *nv = realloc(b->m.pages, ncap * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                b->m.pages = nv;
                b->cap_pages = ncap;
        }
        b->m.pages[b->m.n_pages++] = (NumaNodePages){node, pages};
        return 0;
}

/* One line into b; -EBADMSG for a line that is not a numa_maps line (its
 * node entries are taken back), -ENOMEM. */
static int parse_vma_line(MapsBuilder *b, const char *line, size_t len) {
        NumaVma v = {.kind = NUMA_VMA_OTHER, .first = b->m.n_pages};
        bool has_file = false, heap = false, stack = false, in_policy = true;
        const char *p = line, *end = line + len;
        size_t ntok = 0;
        int r = 0;

        while (p < end) {
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p >= end)
                        break;
                const char *tok = p;
                while (p < end && *p != ' ' && *p != '\t')
                        p++;
                size_t tl = (size_t) (p - tok);
                const char *eq = memchr(tok, '=', tl);
                ntok++;
                if (ntok == 1) {
                        if (parse_hex64(tok, tl, &v.start) < 0)
                                r = -EBADMSG;
                        if (r < 0)
                                break;
                        continue;
                }
                if (ntok == 2) {
                        v.policy_default = token_is(tok, tl, "default");
                        continue;
                }
                if (!eq) {
                        if (token_is(tok, tl, "heap"))
                                heap = true;
                        else if (token_is(tok, tl, "stack"))
                                stack = true;
                        else if (token_is(tok, tl, "huge"))
                                v.huge = true;
                        else if (in_policy)
                                /* "prefer (many):0-1": the policy goes on. */
                                v.policy_default = false;
                        continue;
                }
                in_policy = false;
                size_t kl = (size_t) (eq - tok);
                const char *val = eq + 1;
                size_t vl = tl - kl - 1;
                uint64_t n, *counter;
                if (token_is(tok, kl, "file")) {
                        has_file = true;
                        continue;
                }
                if (kl >= 2 && tok[0] == 'N' && tok[1] >= '0' && tok[1] <= '9') {
                        uint64_t node;
                        if (parse_count(tok + 1, kl - 1, &node) < 0 || node > NUMA_MAX_NODE ||
                            parse_count(val, vl, &n) < 0) {
                                r = -EBADMSG;
                                break;
                        }
                        r = push_node_pages(b, (unsigned) node, n);
                        if (r < 0)
                                break;
                        continue;
                }
                if (token_is(tok, kl, "kernelpagesize_kB")) {
                        if (parse_count(val, vl, &n) < 0 || n == 0 || n > (1u << 30)) {
                                r = -EBADMSG;
                                break;
                        }
                        v.page_kb = (unsigned) n;
                        continue;
                }
                counter = vma_counter(&v, tok, kl);
                if (counter && parse_count(val, vl, counter) < 0) {
                        r = -EBADMSG;
                        break;
                }
        }
        if (r == 0 && ntok < 2)
                r = -EBADMSG;
        v.n_nodes = b->m.n_pages - v.first;
        /* Pages without a page size cannot be weighed. */
        if (r == 0 && v.n_nodes > 0 && v.page_kb == 0)
                r = -EBADMSG;
        if (r < 0) {
                b->m.n_pages = v.first;
                return r == -ENOMEM ? r : -EBADMSG;
        }
        if (heap)
                v.kind = NUMA_VMA_HEAP;
        else if (stack)
                v.kind = NUMA_VMA_STACK;
        else if (has_file)
                v.kind = NUMA_VMA_FILE;
        else if (v.anon > 0 || v.n_nodes > 0)
                v.kind = NUMA_VMA_ANON;
        if (b->m.n_vmas == b->cap_vmas) {
                size_t ncap = b->cap_vmas ? b->cap_vmas * 2 : 32;
                NumaVma *nv = realloc(b->m.vmas, ncap * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                b->m.vmas = nv;
                b->cap_vmas = ncap;
        }
        b->m.vmas[b->m.n_vmas++] = v;
        return 0;
}

int numa_parse_maps_buf(const char *buf, size_t len, NumaMaps *ret) {
        MapsBuilder b = {0};
        const char *p = buf, *end = buf + len;
        bool any = false;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                if (le > p) {
                        any = true;
                        int r = parse_vma_line(&b, p, (size_t) (le - p));
                        if (r == -ENOMEM) {
                                numa_maps_done(&b.m);
                                return r;
                        }
                        if (r < 0)
                                b.m.n_bad++;
                }
                p = le + 1;
        }
        if (any && b.m.n_vmas == 0) {
                numa_maps_done(&b.m);
                return -EBADMSG;
        }
        *ret = b.m;
        return 0;
}

void numa_maps_done(NumaMaps *m) {
        free(m->vmas);
        free(m->pages);
        *m = (NumaMaps){0};
}

static int read_pid_file(int procfd, pid_t pid, const char *file, char **ret, size_t *ret_len) {
        char path[64];

        if (pid <= 0)
                return -EINVAL;
        snprintf(path, sizeof path, "%d/%s", (int) pid, file);
        int r = read_file_alloc_at(procfd, path, NUMA_MAPS_FILE_MAX, ret, ret_len);
        /* The process directory gone is the process gone (procfs.h). */
        if (r == -ENOENT && dirfd_exists(procfd, path) < 0) {
                snprintf(path, sizeof path, "%d", (int) pid);
                if (dirfd_exists(procfd, path) < 0)
                        return -ESRCH;
        }
        return r;
}

int numa_read_maps(int procfd, pid_t pid, NumaMaps *ret) {
        _cleanup_(freep) char *text = NULL;
        size_t len = 0;
        int r = read_pid_file(procfd, pid, "numa_maps", &text, &len);

        if (r < 0)
                return r;
        return numa_parse_maps_buf(text, len, ret);
}

int numa_usage(const NumaMaps *m, NumaUsage *ret) {
        NumaUsage u = {0};

        for (size_t i = 0; i < m->n_pages; i++)
                if (m->pages[i].node + 1 > u.n)
                        u.n = m->pages[i].node + 1;
        if (u.n > 0) {
                u.kb = calloc(u.n, sizeof(uint64_t));
                if (!u.kb)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < m->n_vmas; i++) {
                const NumaVma *v = &m->vmas[i];
                uint64_t kb = 0;
                for (size_t k = 0; k < v->n_nodes; k++) {
                        const NumaNodePages *np = &m->pages[v->first + k];
                        uint64_t x = np->pages * v->page_kb;
                        u.kb[np->node] += x;
                        kb += x;
                }
                u.total_kb += kb;
                if (v->huge)
                        u.huge_kb += kb;
                else if (v->kind == NUMA_VMA_FILE)
                        u.file_kb += kb;
                else
                        u.anon_kb += kb;
        }
        *ret = u;
        return 0;
}

void numa_usage_done(NumaUsage *u) {
        free(u->kb);
        *u = (NumaUsage){0};
}

int numa_usage_copy(const NumaUsage *u, NumaUsage *ret) {
        NumaUsage c = *u;

        c.kb = NULL;
        if (u->n > 0) {
                c.kb = malloc(u->n * sizeof(uint64_t));
                if (!c.kb)
                        return -ENOMEM;
                memcpy(c.kb, u->kb, u->n * sizeof(uint64_t));
        }
        *ret = c;
        return 0;
}

uint64_t numa_usage_on(const NumaUsage *u, const CpuSet *nodes) {
        uint64_t kb = 0;
        for (unsigned i = 0; nodes && i < u->n; i++)
                if (cpuset_has(nodes, i))
                        kb += u->kb[i];
        return kb;
}

int numa_locality_permille(const NumaUsage *u, const CpuSet *nodes) {
        if (u->total_kb == 0)
                return -1;
        /* 128-bit: counts of a big host times 1000 still fit in 64 bits, but
         * a garbage file's need not. */
        return (int) ((unsigned __int128) numa_usage_on(u, nodes) * 1000 / u->total_kb);
}

void numa_format_kb(uint64_t kb, char *buf, size_t size) {
        static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = (double) kb;
        size_t i = 0;

        while (v >= 1024 && i + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                i++;
        }
        if (i == 0 || v >= 100 || v == (double) (uint64_t) v)
                snprintf(buf, size, "%.0f %s", v, units[i]);
        else
                snprintf(buf, size, "%.1f %s", v, units[i]);
}

char *numa_locality_format(const NumaUsage *u, const CpuSet *nodes) {
        _cleanup_(freep) char *list = nodes ? cpuset_format_list(nodes) : NULL;
        int pm = numa_locality_permille(u, nodes);
        char total[32];

        if (pm < 0)
                return strdup("no resident memory");
        numa_format_kb(u->total_kb, total, sizeof total);
        return xasprintf("%d%% of %s on node%s %s", pm / 10, total,
                         nodes && cpuset_count(nodes) == 1 ? "" : "s", list && *list ? list : "(none)");
}

char *numa_usage_format(const NumaUsage *u) {
        size_t cap = 64 + (size_t) u->n * 32, len = 0;
        char *s = malloc(cap);

        if (!s)
                return NULL;
        s[0] = '\0';
        for (unsigned i = 0; i < u->n; i++) {
                char amount[32];
                if (u->kb[i] == 0)
                        continue;
                numa_format_kb(u->kb[i], amount, sizeof amount);
                len += (size_t) snprintf(s + len, cap - len, "%snode %u: %s", len ? ", " : "", i, amount);
        }
        if (len == 0)
                snprintf(s, cap, "none");
        return s;
}

/* ---- maps ------------------------------------------------------------------------ */

/* Special mappings the kernel makes: no page there can move. Named
 * anonymous memory ([anon:NAME], [anon_shmem:NAME]), [heap] and [stack]
 * are the process's own. */
static bool special_mapping(const char *name, size_t len) {
        if (len == 0 || name[0] != '[')
                return false;
        static const char *const own[] = {"[heap]", "[stack", "[anon:", "[anon_shmem:"};
        for (size_t i = 0; i < ELEMENTSOF(own); i++)
                if (len >= strlen(own[i]) && memcmp(name, own[i], strlen(own[i])) == 0)
                        return false;
        return true;
}

/* "start-end perms offset dev inode [name]" */
static int parse_range_line(const char *line, size_t len, NumaRange *ret, bool *ret_keep) {
        const char *dash = memchr(line, '-', len), *sp;
        uint64_t start, end;

        if (!dash)
                return -EBADMSG;
        sp = memchr(dash, ' ', len - (size_t) (dash - line));
        if (!sp || parse_hex64(line, (size_t) (dash - line), &start) < 0 ||
            parse_hex64(dash + 1, (size_t) (sp - dash - 1), &end) < 0 || end <= start)
                return -EBADMSG;
        const char *perms = sp + 1;
        if ((size_t) (perms - line) + 4 > len)
                return -EBADMSG;
        for (int i = 0; i < 4; i++)
                if (!strchr(i == 0 ? "r-" : i == 1 ? "w-" : i == 2 ? "x-" : "ps", perms[i]))
                        return -EBADMSG;
        /* The name is the sixth field, after offset, device and inode. */
        const char *p = perms + 4, *e = line + len;
        for (int field = 0; field < 3; field++) {
                while (p < e && *p == ' ')
                        p++;
                if (p >= e)
                        return -EBADMSG;
                while (p < e && *p != ' ')
                        p++;
        }
        while (p < e && *p == ' ')
                p++;
        bool access = perms[0] == 'r' || perms[1] == 'w' || perms[2] == 'x';
        *ret = (NumaRange){start, end, perms[1] == 'w' && perms[3] == 's'};
        *ret_keep = access && !special_mapping(p, (size_t) (e - p));
        return 0;
}

int numa_parse_ranges_buf(const char *buf, size_t len, NumaRange **ret, size_t *ret_n) {
        _cleanup_(freep) NumaRange *v = NULL;
        size_t n = 0, cap = 0;
        const char *p = buf, *end = buf + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ? nl : end;
                if (le > p) {
                        NumaRange r;
                        bool keep;
                        if (parse_range_line(p, (size_t) (le - p), &r, &keep) < 0)
                                return -EBADMSG;
                        if (keep) {
                                if (n == cap) {
                                        size_t ncap = cap ? cap * 2 : 32;
                                        NumaRange *nv = realloc(v, ncap * sizeof *nv);
                                        if (!nv)
                                                return -ENOMEM;
                                        v = nv;
                                        cap = ncap;
                                }
                                v[n++] = r;
                        }
                }
                p = le + 1;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* ---- mems allowed ------------------------------------------------------------------ */

int numa_parse_mems_allowed_buf(const char *status, CpuSet **ret) {
        const char *key = "Mems_allowed_list:";
        const char *p = status;

        for (;;) {
                if (strncmp(p, key, strlen(key)) == 0)
                        break;
                p = strchr(p, '\n');
                if (!p)
                        return -ENOENT;
                p++;
        }
        p += strlen(key);
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t) (nl - p) : strlen(p);
        _cleanup_(freep) char *text = strndup(p, n);
        CpuSetError err;
        if (!text)
                return -ENOMEM;
        int r = cpuset_parse_list(text, ret, &err);
        return r == -EINVAL || r == -ERANGE ? -EBADMSG : r;
}

int numa_read_mems_allowed(int procfd, pid_t pid, CpuSet **ret) {
        /* Mems_allowed_list is near the end of status, after the CPU masks:
         * ~5 KiB on a host with 8192 CPUs. */
        _cleanup_(freep) char *buf = malloc(64 * 1024);
        ssize_t n;

        if (!buf)
                return -ENOMEM;
        n = procfs_read_status(procfd, pid, buf, 64 * 1024);
        if (n < 0)
                return (int) n;
        return numa_parse_mems_allowed_buf(buf, ret);
}

/* ---- memory policy ------------------------------------------------------------------ */

const char *numa_policy_name(NumaPolicy p) {
        switch (p) {
        case NUMA_POLICY_DEFAULT:
                return "default";
        case NUMA_POLICY_PREFERRED:
                return "preferred";
        case NUMA_POLICY_INTERLEAVE:
                return "interleave";
        }
        return "?";
}

int numa_policy_parse(const char *name, NumaPolicy *ret) {
        static const NumaPolicy all[] = {NUMA_POLICY_DEFAULT, NUMA_POLICY_PREFERRED, NUMA_POLICY_INTERLEAVE};
        for (size_t i = 0; name && i < ELEMENTSOF(all); i++)
                if (strcmp(name, numa_policy_name(all[i])) == 0) {
                        *ret = all[i];
                        return 0;
                }
        return -EINVAL;
}

/* A node mask as set_mempolicy wants it: unsigned longs, and a maxnode one
 * past the highest bit (the kernel reads maxnode - 1 bits). */
static int node_mask(const CpuSet *nodes, unsigned long **ret, unsigned long *ret_maxnode) {
        int last = nodes ? cpuset_last(nodes) : -1;
        size_t words = ((size_t) last + LONG_BITS) / LONG_BITS;
        unsigned long *m;

        if (last < 0)
                return -EINVAL;
        m = calloc(words, sizeof *m);
        if (!m)
                return -ENOMEM;
        for (int n = cpuset_next(nodes, -1); n >= 0; n = cpuset_next(nodes, n))
                m[(unsigned) n / LONG_BITS] |= 1ul << ((unsigned) n % LONG_BITS);
        *ret = m;
        *ret_maxnode = (unsigned long) last + 2;
        return 0;
}

int numa_set_policy(NumaPolicy p, const CpuSet *nodes) {
        _cleanup_(freep) unsigned long *mask = NULL;
        unsigned long maxnode = 0;
        int mode, r;

        if (p == NUMA_POLICY_DEFAULT)
                return syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0UL) < 0 ? -errno : 0;
        r = node_mask(nodes, &mask, &maxnode);
        if (r < 0)
                return r;
        mode = p == NUMA_POLICY_INTERLEAVE ? MPOL_INTERLEAVE
               : cpuset_count(nodes) > 1   ? MPOL_PREFERRED_MANY
                                           : MPOL_PREFERRED;
        if (syscall(SYS_set_mempolicy, mode, mask, maxnode) == 0)
                return 0;
        r = -errno;
        if (r != -EINVAL || mode != MPOL_PREFERRED_MANY)
                return r;
        /* Before 5.15: one preferred node, the first. */
        _cleanup_(cpuset_freep) CpuSet *first = cpuset_new();
        if (!first || cpuset_add(first, (unsigned) cpuset_next(nodes, -1)) < 0)
                return -ENOMEM;
        free(mask);
        mask = NULL;
        r = node_mask(first, &mask, &maxnode);
        if (r < 0)
                return r;
        return syscall(SYS_set_mempolicy, MPOL_PREFERRED, mask, maxnode) < 0 ? -errno : 0;
}

int numa_get_policy(NumaPolicy *ret, CpuSet **ret_nodes) {
        unsigned long mask[1024 / LONG_BITS] = {0}; /* MAX_NUMNODES is at most 1024 */
        int mode = 0;

        if (syscall(SYS_get_mempolicy, &mode, mask, (unsigned long) sizeof mask * 8, NULL, 0UL) < 0)
                return -errno;
        NumaPolicy p;
        switch (mode & 0xff) {
        case MPOL_DEFAULT:
                p = NUMA_POLICY_DEFAULT;
                break;
        case MPOL_PREFERRED:
        case MPOL_PREFERRED_MANY:
                p = NUMA_POLICY_PREFERRED;
                break;
        case MPOL_INTERLEAVE:
                p = NUMA_POLICY_INTERLEAVE;
                break;
        default:
                return -EOPNOTSUPP;
        }
        CpuSet *s = cpuset_new();
        if (!s)
                return -ENOMEM;
        for (unsigned i = 0; i < sizeof mask * 8; i++)
                if ((mask[i / LONG_BITS] >> (i % LONG_BITS)) & 1 && cpuset_add(s, i) < 0) {
                        cpuset_free(s);
                        return -ENOMEM;
                }
        *ret = p;
        if (ret_nodes)
                *ret_nodes = s;
        else
                cpuset_free(s);
        return 0;
}
