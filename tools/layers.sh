#!/bin/sh
# The layering of docs/architecture.md, checked on the text of every C
# file under core/ wire/ config/ dataplane/ control/ (of ROOT): each
# quoted include names a folder the file's layer may see, none climbs
# out with "../", and a private header (*_int.h, *_impl.h) is included
# from its own folder only.  The compiler enforces the same for what it
# compiles (build/inc/LAYER); this also covers headers that no file of
# their own layer includes.  Prints every offence; exits 1 if any.
#   tools/layers.sh [ROOT]
set -u

cd "${1:-.}" || exit 2

sees() {
	case $1 in
	core) echo "core" ;;
	wire) echo "core wire" ;;
	config) echo "core wire config" ;;
	dataplane) echo "core wire config dataplane" ;;
	control) echo "core wire config control" ;;
	esac
}

# Prints the offences of file $2 in layer $1, as "FILE:LINE: why".
check_file() {
	grep -n '^[ 	]*#[ 	]*include[ 	]*"' "$2" |
	    sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/' |
	    while read -r line path; do
		case $path in
		../* | */../*)
			echo "$2:$line: \"$path\": no \"../\" in includes:" \
			    "name the layer's folder"
			continue ;;
		*/*) ;;
		*) continue ;;	# the file's own folder
		esac
		case $path in
		*_int.h | *_impl.h)
			[ "${path%/*}" = "${2%/*}" ] ||
			    echo "$2:$line: \"$path\": private to" \
			    "${path%/*}/" ;;
		esac
		case " $(sees "$1") " in
		*" ${path%%/*} "*) ;;
		*) echo "$2:$line: \"$path\": $1 may include only" \
		    "$(sees "$1")" ;;
		esac
	    done
}

out=$(for layer in core wire config dataplane control; do
	find "$layer" -name '*.[ch]' | sort | while read -r f; do
		check_file "$layer" "$f"
	done
done)
[ -z "$out" ] && exit 0
echo "$out"
exit 1
