/**
 * Linux errno values (asm-generic/errno-base.h, errno.h) and KernelError.
 *
 * The expected-failure channel of the kernel: handlers throw `KernelError`
 * (via `err()`), the syscall dispatcher fills in the syscall name, and each
 * frontend translates it once at its edge (a rejected promise, a FUSE reply's
 * -errno, a WASI errno). Broken invariants are `panic()`, never an errno.
 */

export const errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  EIDRM: 43,
  ENOSTR: 60,
  ENODATA: 61,
  ETIME: 62,
  EPROTO: 71,
  EOVERFLOW: 75,
  EBADFD: 77,
  EILSEQ: 84,
  ERESTART: 85,
  EUSERS: 87,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETOOMANYREFS: 109,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESTALE: 116,
  EUCLEAN: 117,
  EDQUOT: 122,
  ECANCELED: 125,
  EOWNERDEAD: 130,
  ENOTRECOVERABLE: 131,
} as const;

export type ErrnoCode = keyof typeof errno;

/** EWOULDBLOCK is EAGAIN on Linux; ENOTSUP is EOPNOTSUPP; EDEADLOCK is EDEADLK. */
export const EWOULDBLOCK = errno.EAGAIN;

export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const ENOEXEC = 8;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const ENOTBLK = 15;
export const EBUSY = 16;
export const EEXIST = 17;
export const EXDEV = 18;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const EPIPE = 32;
export const EDOM = 33;
export const ERANGE = 34;
export const EDEADLK = 35;
export const ENAMETOOLONG = 36;
export const ENOLCK = 37;
export const ENOSYS = 38;
export const ENOTEMPTY = 39;
export const ELOOP = 40;
export const ENOMSG = 42;
export const EIDRM = 43;
export const ENOSTR = 60;
export const ENODATA = 61;
export const ETIME = 62;
export const EPROTO = 71;
export const EOVERFLOW = 75;
export const EBADFD = 77;
export const EILSEQ = 84;
export const ERESTART = 85;
export const EUSERS = 87;
export const ENOTSOCK = 88;
export const EDESTADDRREQ = 89;
export const EMSGSIZE = 90;
export const EPROTOTYPE = 91;
export const ENOPROTOOPT = 92;
export const EPROTONOSUPPORT = 93;
export const ESOCKTNOSUPPORT = 94;
export const EOPNOTSUPP = 95;
export const EPFNOSUPPORT = 96;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ENETDOWN = 100;
export const ENETUNREACH = 101;
export const ENETRESET = 102;
export const ECONNABORTED = 103;
export const ECONNRESET = 104;
export const ENOBUFS = 105;
export const EISCONN = 106;
export const ENOTCONN = 107;
export const ESHUTDOWN = 108;
export const ETOOMANYREFS = 109;
export const ETIMEDOUT = 110;
export const ECONNREFUSED = 111;
export const EHOSTDOWN = 112;
export const EHOSTUNREACH = 113;
export const EALREADY = 114;
export const EINPROGRESS = 115;
export const ESTALE = 116;
/** Linux EFSCORRUPTED: a file system found its on-disk structures inconsistent. */
export const EUCLEAN = 117;
export const EDQUOT = 122;
export const ECANCELED = 125;
export const EOWNERDEAD = 130;
export const ENOTRECOVERABLE = 131;

const messages: Record<number, string> = {
  1: "Operation not permitted",
  2: "No such file or directory",
  3: "No such process",
  4: "Interrupted system call",
  5: "Input/output error",
  6: "No such device or address",
  7: "Argument list too long",
  8: "Exec format error",
  9: "Bad file descriptor",
  10: "No child processes",
  11: "Resource temporarily unavailable",
  12: "Cannot allocate memory",
  13: "Permission denied",
  14: "Bad address",
  15: "Block device required",
  16: "Device or resource busy",
  17: "File exists",
  18: "Invalid cross-device link",
  19: "No such device",
  20: "Not a directory",
  21: "Is a directory",
  22: "Invalid argument",
  23: "Too many open files in system",
  24: "Too many open files",
  25: "Inappropriate ioctl for device",
  26: "Text file busy",
  27: "File too large",
  28: "No space left on device",
  29: "Illegal seek",
  30: "Read-only file system",
  31: "Too many links",
  32: "Broken pipe",
  33: "Numerical argument out of domain",
  34: "Numerical result out of range",
  35: "Resource deadlock avoided",
  36: "File name too long",
  37: "No locks available",
  38: "Function not implemented",
  39: "Directory not empty",
  40: "Too many levels of symbolic links",
  42: "No message of desired type",
  43: "Identifier removed",
  60: "Device not a stream",
  61: "No data available",
  62: "Timer expired",
  71: "Protocol error",
  75: "Value too large for defined data type",
  77: "File descriptor in bad state",
  84: "Invalid or incomplete multibyte or wide character",
  85: "Interrupted system call should be restarted",
  87: "Too many users",
  88: "Socket operation on non-socket",
  89: "Destination address required",
  90: "Message too long",
  91: "Protocol wrong type for socket",
  92: "Protocol not available",
  93: "Protocol not supported",
  94: "Socket type not supported",
  95: "Operation not supported",
  96: "Protocol family not supported",
  97: "Address family not supported by protocol",
  98: "Address already in use",
  99: "Cannot assign requested address",
  100: "Network is down",
  101: "Network is unreachable",
  102: "Network dropped connection on reset",
  103: "Software caused connection abort",
  104: "Connection reset by peer",
  105: "No buffer space available",
  106: "Transport endpoint is already connected",
  107: "Transport endpoint is not connected",
  108: "Cannot send after transport endpoint shutdown",
  109: "Too many references: cannot splice",
  110: "Connection timed out",
  111: "Connection refused",
  112: "Host is down",
  113: "No route to host",
  114: "Operation already in progress",
  115: "Operation now in progress",
  116: "Stale file handle",
  117: "Structure needs cleaning",
  122: "Disk quota exceeded",
  125: "Operation canceled",
  130: "Owner died",
  131: "State not recoverable",
};

const codes: Record<number, ErrnoCode> = {};
for (const [k, v] of Object.entries(errno)) codes[v] = k as ErrnoCode;

/** The symbolic name of a positive errno ("ENOENT"), or "E<n>" when unknown. */
export function errnoName(n: number): string {
  return codes[n] ?? `E${n}`;
}

/** strerror(3). */
export function strerror(n: number): string {
  return messages[n] ?? `Unknown error ${n}`;
}

/**
 * A failed system call, shaped like Node's SystemError: `code` ("ENOENT"),
 * positive `errno`, `syscall` and, where there is one, `path` / `dest`.
 */
export class KernelError extends Error {
  readonly errno: number;
  readonly code: string;
  syscall: string;
  path: string | undefined;
  dest: string | undefined;
  /** What exactly was wrong, when the errno alone does not say (which argument, what was expected). */
  detail: string | undefined;

  constructor(errnoValue: number, syscall = '', path?: string, dest?: string) {
    super();
    this.errno = errnoValue;
    this.code = errnoName(errnoValue);
    this.syscall = syscall;
    this.path = path;
    this.dest = dest;
    this.name = 'KernelError';
  }

  override get message(): string {
    let m = `${this.code}: ${strerror(this.errno)}`;
    if (this.syscall) m += `, ${this.syscall}`;
    if (this.path !== undefined) m += ` '${this.path}'`;
    if (this.dest !== undefined) m += ` -> '${this.dest}'`;
    if (this.detail !== undefined) m += ` (${this.detail})`;
    return m;
  }
  override set message(_v: string) { /* computed */ }
}

/** Throw an errno from kernel code: `throw err(ENOENT, path)`. */
export function err(errnoValue: number, path?: string, dest?: string): KernelError {
  return new KernelError(errnoValue, '', path, dest);
}

export function isKernelError(e: unknown): e is KernelError {
  return e instanceof KernelError;
}
