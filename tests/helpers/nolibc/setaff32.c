/* SPDX-License-Identifier: MIT */
/* setaff32 TID CPU: set TID's mask to CPU through the 32-bit system call
 * (int 0x80, compat sched_setaffinity), the way a 32-bit program does it.
 * The syscall tracepoints never see this call; the BPF drift source must.
 * Static, no libc (its buffers must sit below 4 GiB for the 32-bit ABI),
 * x86-64 only. Exit 0 when the kernel took the mask. */
typedef unsigned long u64;

static unsigned int mask32[4] __attribute__((used)); /* below 4 GiB: -no-pie, static */

__asm__(".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call setaff32_main\n"
        "  hlt\n");

static long sys1(long n, long a) {
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
        return r;
}

static long parse(const char *s) {
        long v = 0;
        if (!s || !*s)
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > 1000000000)
                        return -1;
                v = v * 10 + (*s - '0');
        }
        return v;
}

void setaff32_main(u64 *sp) __attribute__((used, noreturn));
void setaff32_main(u64 *sp) {
        long argc = (long) sp[0];
        char **argv = (char **) (sp + 1);
        long tid = argc == 3 ? parse(argv[1]) : -1, cpu = argc == 3 ? parse(argv[2]) : -1;
        int ret;

        if (tid < 0 || cpu < 0 || cpu >= 128)
                sys1(60, 2);
        mask32[cpu / 32] = 1u << (cpu % 32);
        __asm__ volatile("int $0x80"
                         : "=a"(ret)
                         : "a"(241), "b"((int) tid), "c"((int) sizeof mask32),
                           "d"((unsigned int) (u64) mask32)
                         : "memory");
        sys1(60, ret == 0 ? 0 : 1);
        for (;;)
                ;
}
