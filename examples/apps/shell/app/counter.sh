#!/bin/sh
# A process app in plain POSIX sh: a counter. tether writes each request as
# one line of compact JSON with its keys in a fixed order, e.g.
#   {"type":"request","from":"c1","kind":"CMD","item":"inc","args":[5]}
# so a shell can pick it apart with patterns; what it prints on standard
# output are protocol lines, what it prints on standard error is its log.
count=0
say() { printf '%s\n' "$1"; }
state() { say "{\"type\":\"state\",\"state\":{\"counter/value\":$count}}"; }

say '{"type":"announce","items":[
{"kind":"CMD","name":"inc","args":[{"name":"by","type":"integer","optional":true}],"doc":"adds by (1 when left out)"},
{"kind":"CMD","name":"reset","args":[],"doc":"back to 0"},
{"kind":"GET","name":"count","args":[],"doc":"the count, to the client that asks"}],
"keys":[{"key":"counter/value","doc":"the count"}]}' | tr -d '\n'
echo
state
while IFS= read -r line; do
	case $line in
	*'"type":"request"'*) ;;
	*) continue ;; # hello, gone
	esac
	from=${line#*\"from\":\"}
	from=${from%%\"*}
	args=${line#*\"args\":[}
	args=${args%]\}}
	case $line in
	*'"item":"inc"'*) # tether checked that the argument is an integer
		count=$((count + ${args:-1}))
		state
		say "{\"type\":\"reply\",\"to\":\"$from\",\"msg\":{\"info\":\"now $count\"}}" ;;
	*'"item":"reset"'*)
		count=0
		state ;;
	*'"item":"count"'*)
		say "{\"type\":\"reply\",\"to\":\"$from\",\"msg\":{\"counter/now\":$count}}" ;;
	esac
	echo "counter: $count after $from's request" >&2
done
