# envr prompt hook for fish. `envr hook fish` prints this after setting __envr_py (an absolute interpreter
# path) and __envr_lib (the directory holding the envr package).
#
# Steady state costs no process: __envr_changed decides with builtins whether anything the core looked at
# moved. Only then does the core run; its output is plain `set` commands whose values it has already quoted.

set -g __envr_boot 'import sys; sys.path.insert(0, sys.argv[1]); from envr.lean import boot; boot()'

function __envr_changed
    test "$PWD" = "$_envr_pwd"; or return 0
    test "$ENVR_STATE" = "$_envr_seen"; or return 0
    for f in $_envr_absent
        test -e "$f"; and return 0
    end
    set -l n (count $_envr_present)
    set -l i 1
    while test $i -lt $n
        set -l f $_envr_present[$i]
        set -l s $_envr_present[(math $i + 1)]
        test -e "$f" -a -e "$s"; or return 0
        test "$f" -nt "$s"; and return 0
        test "$f" -ot "$s"; and return 0
        set i (math $i + 2)
    end
    return 1
end

function __envr_hook --on-event fish_prompt
    set -l rc $status
    if __envr_changed
        if test -x "$__envr_py"
            # The core writes its whole output in one go at the end, so source sees all of it or nothing.
            "$__envr_py" -I -c $__envr_boot $__envr_lib fish | source
            set -l code $pipestatus[1]
            if test $code -ne 0 -a $code -ne 130
                set -g _envr_pwd $PWD
                set -g _envr_seen "$ENVR_STATE"
            end
        else if not set -q __envr_warned
            set -g __envr_warned 1
            printf 'envr: %s is missing; the envr hook is inactive until you reinstall envr\n' "$__envr_py" >&2
        end
    end
    return $rc
end
