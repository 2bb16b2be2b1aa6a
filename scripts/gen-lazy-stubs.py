#!/usr/bin/env python3
"""Write src/lazy/lazy_<name>.c: forwarders that load a library on first use.

usage: gen-lazy-stubs.py NAME SONAME "HEADER..." SYMBOL... > src/lazy/lazy_NAME.c
       clang-format -i --style=file src/lazy/lazy_NAME.c

Each symbol's prototype is read from the installed headers (after the
preprocessor, so macros and attributes are resolved); a function becomes
BERTH_LAZY_FN/BERTH_LAZY_VOID (src/lazy/lazy.h) with its own argument
names. Variadic functions are refused: write those by hand.

The libraries in UNLOAD are unloaded again when idle (struct berth_lazy_lib
in lazy.h): their forwarders are BERTH_LAZY_U*, and every function that
makes or frees an object Berth keeps between calls must be listed in NEW or
FREE (a name that looks like one and is in neither is refused). zlib's
z_stream is allocated by the caller: its initialisers (INIT) make it live
when they return Z_OK, its ends (END, like gzclose) free it unless they
return Z_STREAM_ERROR."""
import re
import subprocess
import sys

TYPE_WORDS = {"int", "long", "char", "short", "unsigned", "signed", "double", "float", "void", "const", "volatile"}
NOLOAD = {"ERR_clear_error", "ERR_get_error", "OPENSSL_thread_stop", "curl_easy_cleanup", "curl_easy_reset",
          "curl_slist_free_all", "curl_free", "SSL_CTX_free", "SSL_free", "X509_free", "EVP_MD_CTX_free",
          "archive_read_free", "archive_write_free", "archive_entry_free"}

UNLOAD = {"archive": "berth_lazy_lib_archive", "zstd": "berth_lazy_lib_zstd", "zlib": "berth_lazy_lib_zlib"}
NEW = {"archive_read_new", "archive_write_new", "archive_entry_new", "ZSTD_createCCtx", "ZSTD_createDCtx",
       "ZSTD_createCStream", "ZSTD_createDStream", "gzopen", "gzopen64", "gzdopen"}
INIT = {"deflateInit_": "Z_OK", "deflateInit2_": "Z_OK", "inflateInit_": "Z_OK", "inflateInit2_": "Z_OK",
        "inflateBackInit_": "Z_OK"}
# what the object needs once ended (END_KEPT: the result that freed nothing);
# INIT's that fail forget the stream's allocators the same way
END = {"deflateEnd": "zstream_forget", "inflateEnd": "zstream_forget", "inflateBackEnd": "zstream_forget",
       "gzclose": "BERTH_LAZY_NOTHING", "gzclose_r": "BERTH_LAZY_NOTHING", "gzclose_w": "BERTH_LAZY_NOTHING"}
END_KEPT = "Z_STREAM_ERROR"
PROLOGUE = {"zlib": """/* zlib filled in its own allocators (functions of libz) where the stream had
 * none, even when its init failed, and may have left msg pointing at its
 * constants */
static inline void zstream_forget(z_streamp s)
{
\ts->zalloc = Z_NULL;
\ts->zfree = Z_NULL;
\ts->opaque = Z_NULL;
\ts->msg = Z_NULL;
}
"""}
# names that make or end an object in zlib (deflateCopy makes one too)
ZLIB_OBJECT = r"(Init|End|Copy|open|close)"
# the objects of those libraries that NEW makes (types without spaces): a
# function taking one first is a method, called without the use lock (the
# live object pins the library)
OBJECTS = {"structarchive*", "structarchive_entry*", "ZSTD_CCtx*", "ZSTD_DCtx*", "ZSTD_CStream*", "ZSTD_DStream*",
           "z_streamp", "gzFile"}
FREE = {"archive_read_free", "archive_write_free", "archive_entry_free", "ZSTD_freeCCtx", "ZSTD_freeDCtx",
        "ZSTD_freeCStream", "ZSTD_freeDStream"}


def preprocess(headers):
    src = "".join(f"#include <{h}>\n" for h in headers)
    out = subprocess.run(["cc", "-E", "-P", "-D_GNU_SOURCE", "-DCURL_DISABLE_TYPECHECK", "-"], input=src,
                         capture_output=True, text=True, check=True).stdout
    return re.sub(r"__attribute__\s*\(\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)\)", "", out)


def split_params(p):
    out, depth, cur = [], 0, ""
    for ch in p:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def strip_name(param):
    """The parameter's type without its name."""
    if "(" in param:
        raise ValueError("function pointer parameter: " + param)
    m = re.match(r"^(.*?)([A-Za-z_]\w*)\s*(\[\s*\w*\s*\])?$", param)
    if not m:
        return param
    head, last = m.group(1).strip(), m.group(2)
    if m.group(3):
        return head + " *"
    if head.endswith("*"):
        return head
    if not head or last in TYPE_WORDS or head in ("struct", "enum", "union") or head.endswith(("struct", "enum")):
        return param
    return head


def proto(text, name):
    m = re.search(r"(?:^|[;}])\s*(?:extern\s+)?([^;{}()]*?)\b" + name + r"\s*\(((?:[^()]|\([^()]*\))*)\)\s*;", text)
    if not m:
        raise SystemExit(f"{name}: no prototype in the headers")
    ret = " ".join(m.group(1).split())
    params = [] if m.group(2).strip() in ("", "void") else split_params(m.group(2))
    if "..." in params:
        raise SystemExit(f"{name}: variadic, write it by hand")
    return ret, [strip_name(" ".join(p.split())) for p in params]


def fail_value(ret):
    if ret.endswith("*"):
        return "NULL"
    if ret.startswith("unsigned") or ret in ("size_t", "uLong", "uInt", "z_size_t"):
        return "0"
    return "-1"


def main():
    name, soname, headers, syms = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
    text = preprocess(headers)
    print(f"/* Generated by scripts/gen-lazy-stubs.py {name} {soname}: do not edit. {soname} is")
    lib = UNLOAD.get(name)
    print(" * loaded at the first call of one of these" + (" and unloaded when idle" if lib else "") +
          " (src/lazy/lazy.h). */")
    for h in headers:
        print(f"#include <{h}>")
    print('\n#include "lazy.h"\n')
    if not lib:
        print(f'#define SO "{soname}"\n')
    if name in PROLOGUE:
        print(PROLOGUE[name])
    for s in syms:
        ret, params = proto(text, s)
        load = "false" if s in NOLOAD else "true"
        decl = ", ".join(f"{t} a{i}" if not t.endswith("*") else f"{t}a{i}" for i, t in enumerate(params)) or "void"
        args = ", ".join(f"a{i}" for i in range(len(params)))
        if lib and s in NEW and params:
            print(f"BERTH_LAZY_UNEW_ARGS({lib}, {ret}, {s}, ({decl}), ({args}))")
        elif lib and s in INIT:
            print(f"BERTH_LAZY_UINIT({lib}, {ret}, {s}, ({decl}), ({args}), {fail_value(ret)}, {INIT[s]}, "
                  "zstream_forget)")
        elif lib and s in END:
            if len(params) != 1:
                raise SystemExit(f"{s}: an end takes its object only")
            print(f"BERTH_LAZY_UEND({lib}, {ret}, {s}, {params[0]}, {fail_value(ret)}, {END_KEPT}, {END[s]})")
        elif lib and s in NEW:
            if params:
                raise SystemExit(f"{s}: a constructor with arguments, extend lazy.h")
            print(f"BERTH_LAZY_UNEW({lib}, {ret}, {s})")
        elif lib and s in FREE:
            if len(params) != 1:
                raise SystemExit(f"{s}: a destructor takes its object only")
            if ret == "void":
                print(f"BERTH_LAZY_UFREE_VOID({lib}, {s}, {params[0]})")
            else:
                print(f"BERTH_LAZY_UFREE({lib}, {ret}, {s}, {params[0]}, {fail_value(ret)})")
        elif lib and re.search(r"(_new|create|free|_init|_end)", s, re.I):
            raise SystemExit(f"{s}: makes or frees an object? list it in NEW or FREE")
        elif name == "zlib" and re.search(ZLIB_OBJECT, s):
            raise SystemExit(f"{s}: makes or ends a zlib object? list it in NEW, INIT or END")
        elif lib and params and params[0].replace(" ", "") in OBJECTS and ret == "void":
            print(f"BERTH_LAZY_UMETHOD_VOID({lib}, {s}, ({decl}), ({args}))")
        elif lib and params and params[0].replace(" ", "") in OBJECTS:
            print(f"BERTH_LAZY_UMETHOD({lib}, {ret}, {s}, ({decl}), ({args}), {fail_value(ret)})")
        elif lib and ret == "void":
            print(f"BERTH_LAZY_UVOID({lib}, {load}, {s}, ({decl}), ({args}))")
        elif lib:
            print(f"BERTH_LAZY_UFN({lib}, {load}, {ret}, {s}, ({decl}), ({args}), {fail_value(ret)})")
        elif ret == "void":
            print(f"BERTH_LAZY_VOID(SO, {load}, {s}, ({decl}), ({args}))")
        else:
            print(f"BERTH_LAZY_FN(SO, {load}, {ret}, {s}, ({decl}), ({args}), {fail_value(ret)})")


main()
