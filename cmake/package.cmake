# package.cmake - the Debian package (`make package`, or cpack in a build
# tree): everything `cmake --install` installs, under /usr.
#
# Its Depends are what a clean system needs for `shmix play`: the shared
# libraries the two programs link, computed by dpkg-shlibdeps (from
# dpkg-dev) from the binaries themselves, so they cannot fall out of step
# with the link lines; plus what no linker sees: numpy, which the worker
# imports at start-up (without it no scripted track runs), and the standard
# library of the Python it embeds (the worker links the interpreter in
# statically, so dpkg-shlibdeps finds no libpython to pull it in by).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shmix)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "shmix developers")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION sound)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3-numpy, libpython${SHMIX_PY_VERSION}-stdlib")
# The first line is the synopsis; CPack indents the rest and marks the
# empty line as Debian's paragraph break.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "multitrack audio engine with an effect in Python per track
shmix plays and renders a multitrack session (a YAML file) in which any
track may run a Python effect. Every scripted track has its own worker
process with its own interpreter, talking to the engine through shared
memory and futexes, so scripts run in parallel and a script that crashes,
hangs or raises takes only its own track down.

The package holds shmix, its worker, the shmix(1) manual page, example
effect scripts and a demo session in /usr/share/shmix.")
include(CPack)
