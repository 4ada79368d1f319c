#!/bin/bash
# docs.sh - the documentation a newcomer and an administrator read:
# README.md stays short (at most 16 KiB, the topics are pages in doc/),
# sluice.conf(5) documents every key of the config table and of a class
# block, and every relative link of README.md and doc/*.md reaches a file
# (and a heading, for #anchors) that exists.
. "$(dirname "$0")/lib.sh"

S=$SLUICE_SRC
size=$(wc -c < "$S/README.md")
[ "$size" -le 16384 ] ||
    fail "README.md is $size bytes, at most 16384: move the topic to doc/"
pass "README.md is $size bytes (at most 16384)"

# the keys: what sluice -n -v prints (every key of the table, set or not),
# checked against the table in the source so the dump cannot miss one
: > "$T/empty.conf"
"$SLUICE" -n -v -c "$T/empty.conf" |
    sed -n -e 's/^# \([a-z_0-9]*\) (unset)$/\1/p' \
    -e 's/^\([a-z][a-z_0-9]*\) .*/\1/p' | grep -vx class | sort > "$T/dumped"
sed -n '/^static const struct key keys\[\] = {/,/^};/p' "$S/lib/config.c" |
    sed -n 's/^[[:space:]]*{ "\([a-z_0-9]*\)",.*/\1/p' | sort > "$T/table"
[ -s "$T/table" ] || fail "no keys found in lib/config.c keys[]"
diff "$T/table" "$T/dumped" || fail "sluice -n -v and keys[] disagree"
sed -n '/class_keys\[\] = {/,/^};/p' "$S/lib/config_class.c" |
    sed -n 's/^[[:space:]]*{ "\([a-z_0-9]*\)",.*/\1/p' > "$T/class_keys"
[ -s "$T/class_keys" ] || fail "no keys found in lib/config_class.c class_keys[]"

# documented: a .TP paragraph whose tag starts with the key in bold
awk 'prev == ".TP" && $1 ~ /^\.B[IR]?$/ { k = $2; gsub(/"/, "", k);
    print k } { prev = $1 }' "$S/doc/sluice.conf.5" | sort -u > "$T/documented"
missing=$(cat "$T/table" "$T/class_keys" | sort -u |
    comm -23 - "$T/documented")
[ -z "$missing" ] || fail "not in doc/sluice.conf.5:" $missing
pass "sluice.conf(5) documents all $(cat "$T/table" "$T/class_keys" |
    wc -l) keys"

# links: [text](target) with a relative target; #anchor: a heading there
slug() {	# GitHub's anchor of a heading
	tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9 _-]//g' -e 's/ /-/g'
}
bad=0
for f in "$S/README.md" "$S"/doc/*.md; do
	grep -o '\]([^)]*)' "$f" | sed 's/^](\(.*\))$/\1/' |
	    grep -v '^[a-z]*://' | grep -v '^mailto:' | sort -u |
	while read -r link; do
		file=${link%%#*}
		anchor=
		case $link in *'#'*) anchor=${link#*#} ;; esac
		target=$f
		[ -n "$file" ] && target=$(dirname "$f")/$file
		if [ ! -e "$target" ]; then
			echo "${f#$S/}: link to missing $link"
			continue
		fi
		[ -z "$anchor" ] && continue
		grep '^#' "$target" | sed 's/^#* *//' | slug |
		    grep -qxF "$anchor" ||
		    echo "${f#$S/}: no heading for #$anchor in ${target#$S/}"
	done
done > "$T/links"
[ ! -s "$T/links" ] || { cat "$T/links"; fail "broken links"; }
pass "every relative link of README.md and doc/*.md resolves"
