/*
 * ner-launch: loads libtensorflow's shared libraries with stderr sent to /dev/null.
 * libtensorflow_framework prints two lines through absl while its static initialisers run
 * ("All log messages before absl::InitializeLog()..." and "oneDNN custom operations are on"),
 * before TF_CPP_MIN_LOG_LEVEL can apply. Loading the libraries here first (RTLD_GLOBAL) means
 * the tfjs binding's own load finds them already in place and prints nothing.
 * loadQuietly(paths: string[]): undefined on success, else dlerror()'s message.
 * muteStderr(): fd of the saved stderr (or -1); restoreStderr(fd) puts it back. The loader
 * mutes the binding's start (TFE context creation) of a CUDA build on a machine without an
 * NVIDIA driver, where "failed call to cuInit" is expected and said in its own words.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <node_api.h>

static int Mute(void) {
  fflush(stderr);
  int saved = dup(2);
  int devnull = open("/dev/null", O_WRONLY);
  if (saved >= 0 && devnull >= 0) dup2(devnull, 2);
  if (devnull >= 0) close(devnull);
  if (saved >= 0 && devnull < 0) {
    close(saved);
    return -1;
  }
  return saved;
}

static void Restore(int saved) {
  if (saved < 0) return;
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
}

static napi_value MuteStderr(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_create_int32(env, Mute(), &result);
  return result;
}

static napi_value RestoreStderr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  int32_t saved = -1;
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc >= 1) napi_get_value_int32(env, args[0], &saved);
  Restore(saved);
  return NULL;
}

static napi_value LoadQuietly(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  uint32_t count = 0;
  if (argc < 1 || napi_get_array_length(env, args[0], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "loadQuietly expects an array of library paths");
    return NULL;
  }
  int saved = Mute();
  const char *error = NULL;
  for (uint32_t i = 0; i < count && error == NULL; i++) {
    napi_value element;
    char path[4096];
    size_t length = 0;
    napi_get_element(env, args[0], i, &element);
    if (napi_get_value_string_utf8(env, element, path, sizeof path, &length) != napi_ok) {
      error = "library path is not a string";
      break;
    }
    if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) error = dlerror();
  }
  Restore(saved);
  napi_value result;
  if (error == NULL) napi_get_undefined(env, &result);
  else napi_create_string_utf8(env, error, NAPI_AUTO_LENGTH, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "loadQuietly", NAPI_AUTO_LENGTH, LoadQuietly, NULL, &fn);
  napi_set_named_property(env, exports, "loadQuietly", fn);
  napi_create_function(env, "muteStderr", NAPI_AUTO_LENGTH, MuteStderr, NULL, &fn);
  napi_set_named_property(env, exports, "muteStderr", fn);
  napi_create_function(env, "restoreStderr", NAPI_AUTO_LENGTH, RestoreStderr, NULL, &fn);
  napi_set_named_property(env, exports, "restoreStderr", fn);
  return exports;
}
