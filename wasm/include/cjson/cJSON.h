/* cJSON.h for the WebAssembly build: Debian ships cJSON as a shared library only, so the
 * browser build gets the part of its API the core's readers use (match, search, stack
 * reasons), written here (wasm/cjson_lite.c) with cJSON's names, types and meaning. */
#ifndef KB_WASM_CJSON_H
#define KB_WASM_CJSON_H

#include <stdbool.h>

#define cJSON_Invalid 0
#define cJSON_False (1 << 0)
#define cJSON_True (1 << 1)
#define cJSON_NULL (1 << 2)
#define cJSON_Number (1 << 3)
#define cJSON_String (1 << 4)
#define cJSON_Array (1 << 5)
#define cJSON_Object (1 << 6)

typedef int cJSON_bool;

typedef struct cJSON {
  struct cJSON *next, *prev, *child;
  int type;
  char *valuestring;
  int valueint;
  double valuedouble;
  char *string; /* the key, in an object */
} cJSON;

cJSON *cJSON_Parse(const char *text);
char *cJSON_PrintUnformatted(const cJSON *item);
void cJSON_Delete(cJSON *item);
cJSON *cJSON_CreateObject(void);
cJSON *cJSON_CreateArray(void);
cJSON *cJSON_CreateString(const char *s);
cJSON *cJSON_CreateNumber(double v);
cJSON_bool cJSON_AddItemToArray(cJSON *array, cJSON *item);
cJSON_bool cJSON_AddItemToObject(cJSON *object, const char *key, cJSON *item);
cJSON *cJSON_AddStringToObject(cJSON *object, const char *key, const char *s);
cJSON *cJSON_AddNumberToObject(cJSON *object, const char *key, double v);
cJSON *cJSON_AddBoolToObject(cJSON *object, const char *key, cJSON_bool b);
cJSON *cJSON_AddNullToObject(cJSON *object, const char *key);
cJSON *cJSON_AddArrayToObject(cJSON *object, const char *key);
cJSON *cJSON_AddObjectToObject(cJSON *object, const char *key);
cJSON *cJSON_GetObjectItemCaseSensitive(const cJSON *object, const char *key);
cJSON *cJSON_GetObjectItem(const cJSON *object, const char *key);
cJSON_bool cJSON_IsString(const cJSON *item);
cJSON_bool cJSON_IsNumber(const cJSON *item);

#endif
