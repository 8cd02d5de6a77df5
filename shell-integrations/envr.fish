# envr prompt hook for fish. `envr hook fish` prints this after setting __envr_py (an absolute interpreter
# path) and __envr_lib (the directory holding the envr package).
#
# Steady state costs no process: __envr_changed decides with builtins whether anything the core looked at
# moved. Only then does the core run; its output is plain `set` commands whose values it has already quoted.

# A broken or half-upgraded envr package says so in one line, not with a traceback at every prompt.
set -g __envr_boot 'import sys; sys.path.insert(0, sys.argv[1])
try: from envr.prompt.entry import boot
except Exception as e: sys.exit(f"envr: cannot load envr from {sys.argv[1]} ({type(e).__name__}: {e}); reinstall envr")
boot()'

function __envr_changed
    # _envr_test, from the core, is one `test` expression over every watched file (see lean.fish_test_args):
    # fish pays ~10 µs per builtin call, so the whole check is two calls.
    test "$PWD" = "$_envr_pwd" -a "$ENVR_STATE" = "$_envr_seen"; or return 0
    set -q _envr_test[1]; and test $_envr_test; and return 1
    return 0
end

function __envr_hook --on-event fish_prompt
    # Locals carry the __envr_ prefix: a local shadows a global of the same name, and would hide a project's
    # exported variable (rc, code, ...) from the core started below.
    set -l __envr_rc $status
    if __envr_changed
        if test -x "$__envr_py"
            # The core writes its whole output in one go at the end, so source sees all of it or nothing.
            "$__envr_py" -I -c $__envr_boot $__envr_lib fish "$_envr_said" | source
            set -l __envr_code $pipestatus[1]
            if test $__envr_code -ne 0 -a $__envr_code -ne 130
                set -g _envr_pwd $PWD
                set -g _envr_seen "$ENVR_STATE"
                set -g _envr_test -n unchanged
            end
        else if not set -q __envr_warned
            set -g __envr_warned 1
            printf 'envr: %s is missing; the envr hook is inactive until you reinstall envr\n' "$__envr_py" >&2
        end
    end
    return $__envr_rc
end
