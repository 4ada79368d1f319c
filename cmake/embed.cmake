# embed.cmake - write a C file holding the bytes of a file as a string.
# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed.cmake
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}"
  "/* generated from ${IN} by cmake/embed.cmake: do not edit */\n"
  "#include <stddef.h>\n"
  "const char ${NAME}[] = { ${bytes} 0x00 };\n"
  "const size_t ${NAME}_len = sizeof(${NAME}) - 1;\n")
