#!/usr/bin/env bash
# update-lazy-stubs.sh BUILD_DIR: rewrite src/lazy/lazy_{curl,ssl,crypto,archive,zstd,lzma,bz2,zlib}.c
# for every libcurl/OpenSSL/libarchive/libzstd/liblzma/libbz2/zlib function that libberth and the
# front-ends call (read from the objects in BUILD_DIR). Run it when a link of
# berthd, berth-shim or berth says "undefined reference" to one of them.
set -euo pipefail
b=${1:?usage: update-lazy-stubs.sh BUILD_DIR}
cd "$(dirname "$0")/.."
libdir=$(dirname "$(cc -print-file-name=libc.so.6)")
[ -e "$libdir/libcurl.so.4" ] || libdir=/usr/lib/x86_64-linux-gnu
und=$(mktemp)
trap 'rm -f "$und"' EXIT
nm -u "$b/libberth.a" "$b"/src/berthd/berthd.p/*.o "$b"/src/berth/berth.p/*.o "$b"/src/shim/berth-shim.p/*.o 2>/dev/null |
	awk 'NF == 2 && $1 == "U" {print $2}' | sort -u >"$und"
gen() { # name soname headers [symbols to leave to lazy_va.c]
	local name=$1 so=$2 headers=$3 skip=${4:-^$}
	nm -D --defined-only "$libdir/$so" | awk '{print $3}' | sed 's/@.*//' | sort -u |
		comm -12 "$und" - | grep -v -E "$skip" >"$und.$name" || true
	# shellcheck disable=SC2046
	python3 scripts/gen-lazy-stubs.py "$name" "$so" "$headers" $(cat "$und.$name") >"src/lazy/lazy_$name.c"
	rm -f "$und.$name"
	clang-format -i --style=file "src/lazy/lazy_$name.c"
}
gen curl libcurl.so.4 "curl/curl.h" '^curl_easy_(setopt|getinfo)$'
gen ssl libssl.so.3 "openssl/ssl.h"
gen crypto libcrypto.so.3 "openssl/err.h openssl/evp.h openssl/hmac.h openssl/x509.h openssl/x509_vfy.h openssl/crypto.h"
gen archive libarchive.so.13 "archive.h archive_entry.h" '^archive_set_error$'
gen zstd libzstd.so.1 "zstd.h"
gen lzma liblzma.so.5 "lzma.h"
gen bz2 libbz2.so.1.0 "bzlib.h"
gen zlib libz.so.1 "zlib.h"
git status --short src/lazy
