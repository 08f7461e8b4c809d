# Writes OUT: one `const char rs_schema_<name>[]` per IN_DIR/*.avsc, as a
# NUL-terminated byte array (C11 has no raw strings).
file(GLOB files ${IN_DIR}/*.avsc)
set(c "/* Generated from the schemas directory by cmake/embed_schemas.cmake. Do not edit. */\n")
foreach(f ${files})
  get_filename_component(name ${f} NAME_WE)
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND c "const char rs_schema_${name}[] = {${bytes}0x00};\n")
endforeach()
file(WRITE ${OUT}.tmp "${c}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
