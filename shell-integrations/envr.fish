# envr prompt hook for fish. `envr hook fish` prints this after setting __envr_py (an absolute interpreter
# path) and __envr_lib (the directory holding the envr package).
#
# The core (a Python process) runs only when the hook cannot decide with builtins. The hook alone handles:
# nothing moved (same $PWD and ENVR_STATE, watched files unchanged: one `test` call per list), a `cd` within
# the project, leaving for a directory in no project (the revert the core wrote at load time, in
# _envr_leave), and re-entering a project this shell loaded before (a cached load whose checks still hold).
# Everything it evals was written by the core with every value quoted. State lives in unexported globals, so a
# subshell asks the core.

# A broken or half-upgraded envr package says so in one line, not with a traceback at every prompt.
set -g __envr_boot 'import sys; sys.path.insert(0, sys.argv[1])
try: from envr.prompt.entry import boot
except Exception as e: sys.exit(f"envr: cannot load envr from {sys.argv[1]} ({type(e).__name__}: {e}); reinstall envr")
boot()'
set -g __envr_c_root
set -g __envr_c_test
set -g __envr_c_enter

# The nearest project at or above $PWD (a regular file named envr.toml), and test arguments that hold while
# the envr.toml files below it stay absent: sets __envr_near and __envr_gone.
function __envr_walk
    set -l __envr_d $PWD
    set -g __envr_near ''
    set -g __envr_gone
    while true
        set -l __envr_f $__envr_d/envr.toml
        test "$__envr_d" = /; and set __envr_f /envr.toml
        if test -f $__envr_f
            set -g __envr_near $__envr_d
            break
        end
        set -q __envr_gone[1]; and set -a __envr_gone -a
        set -a __envr_gone ! -f $__envr_f
        test "$__envr_d" = /; and break
        # string collect: a directory name may hold a newline, which a command substitution would split at
        set __envr_d (string replace -r '/[^/]*$' '' -- $__envr_d | string collect)
        test -n "$__envr_d"; or set __envr_d /
    end
    set -q __envr_gone[1]; or set __envr_gone -n unchanged
end

# PWD moved: decide without the core where that is exact. Returns 1 when the core must run.
function __envr_moved
    __envr_walk
    if test "$__envr_near" != "$_envr_root"
        if test -z "$__envr_near" # left the project for no project
            test -n "$_envr_leave" -o -z "$ENVR_STATE"; or return 1 # loaded, but no revert here: the core's
            set -g _envr_said ''
            test -n "$_envr_leave"; and eval $_envr_leave
            set -g _envr_root ''
            set -g _envr_tproj -n unchanged
            set -g _envr_leave ''
            set -g _envr_seen "$ENVR_STATE"
        else if test -z "$_envr_leave" -a -z "$ENVR_STATE" # into a project from none: loaded here before?
            set -l __envr_i (contains -i -- $__envr_near $__envr_c_root); or return 1
            eval $__envr_c_test[$__envr_i]; or return 1
            eval $__envr_c_enter[$__envr_i]
        else
            return 1
        end
    end
    set -g _envr_pwd $PWD
    set -g _envr_tabs $__envr_gone
    return 0
end

function __envr_changed
    # Each list is one `test` expression (see envr/shells/fish.py): fish pays ~10 µs per builtin call.
    test "$_envr_racy" = 0 -a "$ENVR_STATE" = "$_envr_seen"; or return 0
    test -d $PWD -o -z "$_envr_root"; or return 0 # the directory was deleted under the shell
    if test "$PWD" != "$_envr_pwd"
        __envr_moved; or return 0
    end
    set -q _envr_tabs[1] _envr_tbase[1] _envr_tproj[1]; or return 0
    test $_envr_tabs -a $_envr_tbase -a $_envr_tproj; and return 1
    return 0
end

# __envr_addpath PRE... -- APP...: PATH becomes PRE, then PATH's entries, then APP.
function __envr_addpath
    set -l __envr_pre
    while set -q argv[1]; and test "$argv[1]" != --
        set -a __envr_pre $argv[1]
        set -e argv[1]
    end
    set -e argv[1]
    set -gx PATH $__envr_pre $PATH $argv
end

# __envr_unpath WAS_UNSET PRE... -- APP...: remove the first occurrence of each PRE and the last of each APP,
# keeping every entry the user added; an emptied PATH that was unset before is unset again.
function __envr_unpath
    set -l __envr_was_unset $argv[1]
    set -e argv[1]
    set -l __envr_e $PATH
    while set -q argv[1]; and test "$argv[1]" != --
        set -l __envr_i (contains -i -- $argv[1] $__envr_e); and set -e __envr_e[$__envr_i]
        set -e argv[1]
    end
    set -e argv[1]
    for __envr_x in $argv
        set -l __envr_j (count $__envr_e)
        while test $__envr_j -gt 0
            if test "$__envr_e[$__envr_j]" = "$__envr_x"
                set -e __envr_e[$__envr_j]
                break
            end
            set __envr_j (math $__envr_j - 1)
        end
    end
    if test (count $__envr_e) -eq 0 -a "$__envr_was_unset" = 1
        set -e -g PATH
    else
        set -gx PATH $__envr_e
    end
end

function __envr_quiet
    test -n "$ENVR_QUIET" -a "$ENVR_QUIET" != 0
end

# The unload line, after _envr_leave's code restored what it could; __envr_k names what the user changed.
function __envr_left
    set -l __envr_line "envr: unloaded $argv[1]"
    if set -q __envr_k[1]
        set -l __envr_it them
        test (count $__envr_k) -eq 1; and set __envr_it it
        set __envr_line "$__envr_line; kept "(string join ', ' -- $__envr_k)" as you changed $__envr_it inside"
    end
    set -g _envr_said $__envr_line
    __envr_quiet; or printf '%s\n' $__envr_line >&2
    return 0
end

function __envr_note
    test -n "$argv[1]"; and not __envr_quiet; and printf '%s\n' $argv[1] >&2
    return 0
end

# Remember how to enter ROOT again (at most 8 projects): __envr_cache_put ROOT TEST ENTER.
function __envr_cache_put
    set -l __envr_i (contains -i -- $argv[1] $__envr_c_root)
    and begin
        set -e __envr_c_root[$__envr_i]
        set -e __envr_c_test[$__envr_i]
        set -e __envr_c_enter[$__envr_i]
    end
    set -g __envr_c_root $argv[1] $__envr_c_root[1..7]
    set -g __envr_c_test $argv[2] $__envr_c_test[1..7]
    set -g __envr_c_enter $argv[3] $__envr_c_enter[1..7]
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
                set -g _envr_racy 0
                set -g _envr_root \x01
                set -g _envr_tabs -n unchanged
                set -g _envr_tbase -n unchanged
                set -g _envr_tproj -n unchanged
            end
        else if not set -q __envr_warned
            set -g __envr_warned 1
            printf 'envr: %s is missing; the envr hook is inactive until you reinstall envr\n' "$__envr_py" >&2
        end
    end
    return $__envr_rc
end
