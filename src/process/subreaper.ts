// The fallback where cgroups cannot be used: the worker becomes a child subreaper
// (prctl(PR_SET_CHILD_SUBREAPER), Linux ≥ 3.4, see prctl(2)), so a service's orphans (a double
// fork, a daemon whose parent exited) are re-parented to the worker instead of to init and stay
// in its process tree, where they can still be found. Called through koffi (a maintained FFI
// module whose npm package ships its native part prebuilt) instead of a native module of our own.
import koffi from 'koffi';

const PR_SET_CHILD_SUBREAPER = 36;
const WNOHANG = 1;

interface Libc {
  prctl: (option: number, arg2: number, arg3: number, arg4: number, arg5: number) => number;
  waitpid: (pid: number, status: number[], options: number) => number;
}

let libc: Libc | null | undefined;
let subreaper: boolean | undefined;

function loadLibc(): Libc | null {
  if (libc === undefined) {
    try {
      const lib = koffi.load('libc.so.6');
      libc = {
        prctl: lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)'),
        waitpid: lib.func('int waitpid(int pid, _Out_ int *status, int options)'),
      };
    } catch {
      libc = null;
    }
  }
  return libc;
}

/**
 * Makes this process a child subreaper (once); false where that is impossible (no glibc, a kernel
 * without it). Orphans it inherits become its zombies when they end: reapOrphan collects them.
 */
export function becomeSubreaper(): boolean {
  if (subreaper === undefined) {
    const c = loadLibc();
    subreaper = c !== null && c.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
  }
  return subreaper;
}

/**
 * Collects the exit status of `pid`, an orphan re-parented to this process that has ended (a zombie).
 * Never call it for a child that Node spawned itself: libuv reaps those, and would then miss the exit.
 */
export function reapOrphan(pid: number): void {
  loadLibc()?.waitpid(pid, [0], WNOHANG);
}
