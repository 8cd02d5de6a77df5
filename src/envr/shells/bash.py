"""bash: POSIX single quotes; the hook lives in shell-integrations/envr.bash."""

from envr.shells.posix import PosixRenderer

RENDERER = PosixRenderer()
