/* SPDX-License-Identifier: MIT */
#include "core/pacing.h"

void pacing_init(Pacing *p, const PacingConfig *cfg) {
        *p = (Pacing){.cfg = *cfg};
}

uint64_t pacing_after_read(Pacing *p, uint64_t now, unsigned n, unsigned busy) {
        if (p->window_start == 0 || now < p->window_start)
                p->window_start = now;
        p->events += n;
        p->busy += busy;
        uint64_t elapsed = now - p->window_start;
        if (elapsed >= p->cfg.window_usec) {
                /* A window ends only at a read (a deferred read sees a whole
                 * deferral's events at once), so judge the rate over the
                 * time it really covered: a slow trickle over a long quiet
                 * gap is no storm. */
                /* Hysteresis: a storm lasts while the rate stays above half
                 * what started it, so a driver's hiccup does not cost a
                 * window of per-event wakeups before it is seen again. */
                uint64_t need = p->storm ? (p->cfg.storm_events + 1) / 2 : p->cfg.storm_events;
                bool storm = (uint64_t) p->events * p->cfg.window_usec >= need * elapsed &&
                             (uint64_t) p->busy * p->cfg.quiet_share < (uint64_t) p->events;
                if (storm && !p->storm)
                        p->storms++;
                p->last_events = p->events;
                p->last_busy = p->busy;
                p->last_usec = elapsed;
                p->storm = storm;
                p->window_start = now;
                p->events = 0;
                p->busy = 0;
        }
        return p->storm ? p->cfg.defer_usec : 0;
}
