# Sourced by tests and benchmarks that change this machine's IRQ and
# workqueue masks (87-irqs, 88-cpus-audit, tests/bench/shield.sh), so that
# they put back exactly what they found.
WQ=/sys/devices/virtual/workqueue

# Every IRQ's smp_affinity_list, default_smp_affinity and the workqueue
# masks (the global one as requested where the kernel says it), one a line.
kernel_masks_save() {
        for d in /proc/irq/[0-9]*; do echo "irq $(basename "$d") $(cat "$d/smp_affinity_list")"; done
        echo "default $(cat /proc/irq/default_smp_affinity)"
        [ -f $WQ/cpumask ] && echo "wq * $(cat $WQ/cpumask_requested 2>/dev/null || cat $WQ/cpumask)"
        for f in $WQ/*/cpumask; do [ -f "$f" ] && echo "wq $(basename "$(dirname "$f")") $(cat "$f")"; done
}

# Write back what kernel_masks_save put in file $1 (errors ignored: an IRQ
# that cannot move refuses its own mask too).
kernel_masks_restore() {
        while read -r kind a b; do
                case $kind in
                irq) echo "$b" >"/proc/irq/$a/smp_affinity_list" ;;
                default) echo "$a" >/proc/irq/default_smp_affinity ;;
                wq) if [ "$a" = "*" ]; then echo "$b" >$WQ/cpumask; else echo "$b" >"$WQ/$a/cpumask"; fi ;;
                esac
        done <"$1" 2>/dev/null
}
