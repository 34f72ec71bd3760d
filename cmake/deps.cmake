# Third-party libraries, all from Debian's packages (see README).
find_package(Threads REQUIRED)
find_package(nng CONFIG REQUIRED)
find_package(OpenSSL REQUIRED) # libcrypto: HMAC-SHA256 of the auth handshake
find_package(PkgConfig REQUIRED)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
find_program(PROTOC_C protoc-c REQUIRED)
find_program(PROTOC protoc REQUIRED)
