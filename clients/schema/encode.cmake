# cmake -DPROTOC= -DTYPE= -DIN= -DOUT= -DARGS="-I..;-I.." -DPROTO= -P encode.cmake
# protoc --encode=TYPE ARGS PROTO < IN > OUT (a text-format fixture to binary)
execute_process(COMMAND ${PROTOC} --encode=${TYPE} ${ARGS} ${PROTO}
                INPUT_FILE ${IN} OUTPUT_FILE ${OUT} RESULT_VARIABLE rv)
if(NOT rv EQUAL 0)
  file(REMOVE ${OUT})
  message(FATAL_ERROR "protoc --encode=${TYPE} failed")
endif()
