/* SPDX-License-Identifier: MIT */
/* firstmask: a static program with its own _start and no libc. Its very
 * first instructions ask the kernel for its CPU mask (sched_getaffinity,
 * before any loader, libc start-up or main could run); then it prints the
 * mask's first 64 bits in hex ("0x2\n") and exits. With guarantee = exec
 * the answer must already be the rule's CPUs (tests/integration/72).
 * x86-64 Linux only. */
typedef unsigned long u64;

static u64 mask[16] __attribute__((used));

/* The first instructions: the syscall, then a stack fit for C. */
__asm__(".globl _start\n"
        "_start:\n"
        "  mov $204, %eax\n" /* SYS_sched_getaffinity */
        "  xor %edi, %edi\n"
        "  mov $128, %esi\n"
        "  lea mask(%rip), %rdx\n"
        "  syscall\n"
        "  and $-16, %rsp\n"
        "  call after_start\n"
        "  hlt\n");

static long sys3(long n, long a, long b, long c) {
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
        return r;
}

void after_start(void) __attribute__((used, noreturn));
void after_start(void) {
        char out[24];
        int n = 0;
        u64 v = mask[0];
        char digits[16];
        int k = 0;

        out[n++] = '0';
        out[n++] = 'x';
        do {
                digits[k++] = "0123456789abcdef"[v & 15];
                v >>= 4;
        } while (v && k < 16);
        while (k > 0)
                out[n++] = digits[--k];
        out[n++] = '\n';
        (void) sys3(1, 1, (long) out, n); /* write */
        (void) sys3(60, 0, 0, 0);         /* exit */
        for (;;)
                ;
}
