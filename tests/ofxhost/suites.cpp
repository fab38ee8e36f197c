#include "suites.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "effect.h"
#include "ofx_names.h"
#include "params.h"
#include "registry.h"
#include "report.h"

namespace ofxhost {

namespace {

bool gTemporalAccess = true;  // HostSettings::temporalAccess

// ---- property suite -----------------------------------------------------------------------------

#define PROPS_OR_BAD_HANDLE(h)                  \
  PropertySet *ps = PropertySet::fromHandle(h); \
  if (!ps) return kOfxStatErrBadHandle

OfxStatus propSetPointer(OfxPropertySetHandle h, const char *n, int i, void *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSet(n, i, PropType::Pointer, &v);
}
OfxStatus propSetString(OfxPropertySetHandle h, const char *n, int i, const char *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSet(n, i, PropType::String, &v);
}
OfxStatus propSetDouble(OfxPropertySetHandle h, const char *n, int i, double v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSet(n, i, PropType::Double, &v);
}
OfxStatus propSetInt(OfxPropertySetHandle h, const char *n, int i, int v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSet(n, i, PropType::Int, &v);
}
OfxStatus propSetPointerN(OfxPropertySetHandle h, const char *n, int c, void *const *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSetN(n, c, PropType::Pointer, v);
}
OfxStatus propSetStringN(OfxPropertySetHandle h, const char *n, int c, const char *const *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSetN(n, c, PropType::String, v);
}
OfxStatus propSetDoubleN(OfxPropertySetHandle h, const char *n, int c, const double *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSetN(n, c, PropType::Double, v);
}
OfxStatus propSetIntN(OfxPropertySetHandle h, const char *n, int c, const int *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginSetN(n, c, PropType::Int, v);
}
OfxStatus propGetPointer(OfxPropertySetHandle h, const char *n, int i, void **v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGet(n, i, PropType::Pointer, v);
}
OfxStatus propGetString(OfxPropertySetHandle h, const char *n, int i, char **v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGet(n, i, PropType::String, v);
}
OfxStatus propGetDouble(OfxPropertySetHandle h, const char *n, int i, double *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGet(n, i, PropType::Double, v);
}
OfxStatus propGetInt(OfxPropertySetHandle h, const char *n, int i, int *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGet(n, i, PropType::Int, v);
}
OfxStatus propGetPointerN(OfxPropertySetHandle h, const char *n, int c, void **v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGetN(n, c, PropType::Pointer, v);
}
OfxStatus propGetStringN(OfxPropertySetHandle h, const char *n, int c, char **v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGetN(n, c, PropType::String, v);
}
OfxStatus propGetDoubleN(OfxPropertySetHandle h, const char *n, int c, double *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGetN(n, c, PropType::Double, v);
}
OfxStatus propGetIntN(OfxPropertySetHandle h, const char *n, int c, int *v) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginGetN(n, c, PropType::Int, v);
}
OfxStatus propReset(OfxPropertySetHandle h, const char *n) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginReset(n);
}
OfxStatus propGetDimension(OfxPropertySetHandle h, const char *n, int *c) {
  PROPS_OR_BAD_HANDLE(h);
  return ps->pluginDimension(n, c);
}

const OfxPropertySuiteV1 kPropertySuite = {
    propSetPointer, propSetString,  propSetDouble,    propSetInt,     propSetPointerN,
    propSetStringN, propSetDoubleN, propSetIntN,      propGetPointer, propGetString,
    propGetDouble,  propGetInt,     propGetPointerN,  propGetStringN, propGetDoubleN,
    propGetIntN,    propReset,      propGetDimension,
};

// ---- image effect suite -------------------------------------------------------------------------

OfxStatus getPropertySet(OfxImageEffectHandle h, OfxPropertySetHandle *props) {
  Effect *e = Effect::fromHandle(h);
  if (!e || !props) return kOfxStatErrBadHandle;
  *props = e->props().handle();
  return kOfxStatOK;
}

OfxStatus getParamSet(OfxImageEffectHandle h, OfxParamSetHandle *paramSet) {
  Effect *e = Effect::fromHandle(h);
  if (!e || !paramSet) return kOfxStatErrBadHandle;
  *paramSet = e->params().handle();
  return kOfxStatOK;
}

OfxStatus clipDefine(OfxImageEffectHandle h, const char *name, OfxPropertySetHandle *props) {
  Effect *e = Effect::fromHandle(h);
  if (!e || !name) return kOfxStatErrBadHandle;
  if (e->role() != Effect::Role::ContextDescriptor) {
    warn(std::string("clipDefine(") + name + ") outside DescribeInContext on " + e->what());
    return kOfxStatErrBadHandle;
  }
  OfxStatus st = kOfxStatOK;
  Clip *c = e->defineClip(name, &st);
  if (c && props) *props = c->props().handle();
  return st;
}

OfxStatus clipGetHandle(OfxImageEffectHandle h, const char *name, OfxImageClipHandle *clip,
                        OfxPropertySetHandle *props) {
  Effect *e = Effect::fromHandle(h);
  if (!e || !name || !clip) return kOfxStatErrBadHandle;
  Clip *c = e->clip(name);
  if (!c) return kOfxStatErrUnknown;
  *clip = c->handle();
  if (props) *props = c->props().handle();
  return kOfxStatOK;
}

OfxStatus clipGetPropertySet(OfxImageClipHandle h, OfxPropertySetHandle *props) {
  Clip *c = Clip::fromHandle(h);
  if (!c || !props) return kOfxStatErrBadHandle;
  *props = c->props().handle();
  return kOfxStatOK;
}

OfxStatus clipGetImage(OfxImageClipHandle h, OfxTime time, const OfxRectD * /*region*/,
                       OfxPropertySetHandle *image) {
  // The region is a hint: hosts may return more, and this one always returns the whole image.
  Clip *c = Clip::fromHandle(h);
  if (!c || !image) return kOfxStatErrBadHandle;
  Effect *e = c->effect();
  if (e->role() != Effect::Role::Instance) return kOfxStatErrBadHandle;
  if (!gTemporalAccess) time = e->currentTime;  // MLT: the time argument is ignored
  FeedImage img;
  if (!c->connected() || !c->feed || !c->feed->imageAt(time, &img)) return kOfxStatFailed;
  *image = e->giveImage(c, time, img)->handle();
  return kOfxStatOK;
}

OfxStatus clipReleaseImage(OfxPropertySetHandle h) {
  auto *img = dynamic_cast<ImageHandle *>(PropertySet::fromHandle(h));
  if (!img) return kOfxStatErrBadHandle;
  return img->clip()->effect()->releaseImage(img) ? kOfxStatOK : kOfxStatErrBadHandle;
}

OfxStatus clipGetRegionOfDefinition(OfxImageClipHandle h, OfxTime /*time*/, OfxRectD *bounds) {
  Clip *c = Clip::fromHandle(h);
  if (!c || !bounds) return kOfxStatErrBadHandle;
  *bounds = c->connected() ? c->rod : OfxRectD{0, 0, 0, 0};
  return kOfxStatOK;
}

int abortRender(OfxImageEffectHandle) { return 0; }

struct ImageMemory {
  std::unique_ptr<uint8_t, void (*)(void *)> bytes{nullptr, std::free};
  int locks = 0;
};

OfxStatus imageMemoryAlloc(OfxImageEffectHandle, size_t n, OfxImageMemoryHandle *mem) {
  if (!mem) return kOfxStatErrBadHandle;
  auto *m = new ImageMemory;
  m->bytes.reset(static_cast<uint8_t *>(std::aligned_alloc(64, (n + 63) / 64 * 64 + 64)));
  if (!m->bytes) {
    delete m;
    return kOfxStatErrMemory;
  }
  Registry<ImageMemory>::add(m);
  *mem = reinterpret_cast<OfxImageMemoryHandle>(m);
  return kOfxStatOK;
}

OfxStatus imageMemoryFree(OfxImageMemoryHandle h) {
  ImageMemory *m = Registry<ImageMemory>::find(h);
  if (!m) return kOfxStatErrBadHandle;
  Registry<ImageMemory>::remove(m);
  delete m;
  return kOfxStatOK;
}

OfxStatus imageMemoryLock(OfxImageMemoryHandle h, void **ptr) {
  ImageMemory *m = Registry<ImageMemory>::find(h);
  if (!m || !ptr) return kOfxStatErrBadHandle;
  ++m->locks;
  *ptr = m->bytes.get();
  return kOfxStatOK;
}

OfxStatus imageMemoryUnlock(OfxImageMemoryHandle h) {
  ImageMemory *m = Registry<ImageMemory>::find(h);
  if (!m) return kOfxStatErrBadHandle;
  if (m->locks > 0) --m->locks;
  return kOfxStatOK;
}

const OfxImageEffectSuiteV1 kImageEffectSuite = {
    getPropertySet,     getParamSet,      clipDefine,       clipGetHandle,
    clipGetPropertySet, clipGetImage,     clipReleaseImage, clipGetRegionOfDefinition,
    abortRender,        imageMemoryAlloc, imageMemoryFree,  imageMemoryLock,
    imageMemoryUnlock,
};

// ---- parameter suite ----------------------------------------------------------------------------

OfxStatus paramDefine(OfxParamSetHandle h, const char *type, const char *name,
                      OfxPropertySetHandle *props) {
  ParamSet *ps = ParamSet::fromHandle(h);
  if (!ps || !type || !name) return kOfxStatErrBadHandle;
  if (ps->owner()->role() == Effect::Role::Instance) return kOfxStatErrBadHandle;
  OfxStatus st = kOfxStatOK;
  Param *p = ps->define(type, name, &st);
  if (!p && st == kOfxStatErrUnknown)
    warn(std::string("paramDefine: unsupported type ") + type + " for " + name);
  if (p && props) *props = p->props().handle();
  return st;
}

OfxStatus paramGetHandle(OfxParamSetHandle h, const char *name, OfxParamHandle *param,
                         OfxPropertySetHandle *props) {
  ParamSet *ps = ParamSet::fromHandle(h);
  if (!ps || !name || !param) return kOfxStatErrBadHandle;
  Param *p = ps->find(name);
  if (!p) return kOfxStatErrUnknown;
  *param = p->handle();
  if (props) *props = p->props().handle();
  return kOfxStatOK;
}

OfxStatus paramSetGetPropertySet(OfxParamSetHandle h, OfxPropertySetHandle *props) {
  ParamSet *ps = ParamSet::fromHandle(h);
  if (!ps || !props) return kOfxStatErrBadHandle;
  *props = ps->props().handle();
  return kOfxStatOK;
}

OfxStatus paramGetPropertySet(OfxParamHandle h, OfxPropertySetHandle *props) {
  Param *p = Param::fromHandle(h);
  if (!p || !props) return kOfxStatErrBadHandle;
  *props = p->props().handle();
  return kOfxStatOK;
}

// Writes a value through the variadic out-pointers: double* per dimension for double types,
// int* for integer/boolean/choice, char** for strings.
OfxStatus writeValue(Param &p, double time, va_list ap) {
  if (!p.hasValue()) return kOfxStatErrBadHandle;
  if (p.type().kind == ParamKind::String) {
    char **out = va_arg(ap, char **);
    if (!out) return kOfxStatErrBadHandle;
    *out = const_cast<char *>(p.textAt(time).c_str());
    return kOfxStatOK;
  }
  const ParamValue v = p.valueAt(time);
  for (int i = 0; i < p.type().dimension; ++i) {
    if (p.type().kind == ParamKind::Double) {
      double *out = va_arg(ap, double *);
      if (!out) return kOfxStatErrBadHandle;
      *out = v.numbers[static_cast<size_t>(i)];
    } else {
      int *out = va_arg(ap, int *);
      if (!out) return kOfxStatErrBadHandle;
      *out = static_cast<int>(v.numbers[static_cast<size_t>(i)]);
    }
  }
  return kOfxStatOK;
}

ParamValue readValue(Param &p, va_list ap) {
  ParamValue v;
  if (p.type().kind == ParamKind::String) {
    const char *s = va_arg(ap, const char *);
    v.text = s ? s : "";
    return v;
  }
  for (int i = 0; i < p.type().dimension; ++i) {
    v.numbers.push_back(p.type().kind == ParamKind::Double ? va_arg(ap, double) : va_arg(ap, int));
  }
  return v;
}

OfxStatus paramGetValue(OfxParamHandle h, ...) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  va_list ap;
  va_start(ap, h);
  const OfxStatus st = writeValue(*p, p->owner()->currentTime, ap);
  va_end(ap);
  return st;
}

OfxStatus paramGetValueAtTime(OfxParamHandle h, OfxTime time, ...) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  va_list ap;
  va_start(ap, time);
  const OfxStatus st = writeValue(*p, time, ap);
  va_end(ap);
  return st;
}

OfxStatus paramGetDerivative(OfxParamHandle h, OfxTime time, ...) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  if (p->type().kind != ParamKind::Double) return kOfxStatErrUnsupported;
  va_list ap;
  va_start(ap, time);
  for (int i = 0; i < p->type().dimension; ++i) *va_arg(ap, double *) = p->derivative(time, i);
  va_end(ap);
  return kOfxStatOK;
}

OfxStatus paramGetIntegral(OfxParamHandle h, OfxTime t1, OfxTime t2, ...) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  if (p->type().kind != ParamKind::Double) return kOfxStatErrUnsupported;
  va_list ap;
  va_start(ap, t2);
  for (int i = 0; i < p->type().dimension; ++i) *va_arg(ap, double *) = p->integral(t1, t2, i);
  va_end(ap);
  return kOfxStatOK;
}

// Plugins may change instance values, but not while rendering (the spec forbids it).
OfxStatus checkSettable(Param &p) {
  Effect *e = p.owner();
  if (!p.hasValue() || e->role() != Effect::Role::Instance) return kOfxStatErrBadHandle;
  const char *a = e->currentAction();
  if (a && (std::strcmp(a, kOfxImageEffectActionRender) == 0 ||
            std::strcmp(a, kOfxImageEffectActionIsIdentity) == 0 ||
            std::strcmp(a, kOfxImageEffectActionBeginSequenceRender) == 0 ||
            std::strcmp(a, kOfxImageEffectActionEndSequenceRender) == 0)) {
    warn("plugin set parameter " + p.name() + " during " + a + " (not allowed in render actions)");
    return kOfxStatFailed;
  }
  return kOfxStatOK;
}

void notifyPluginEdit(Param &p) {
  Effect *e = p.owner();
  const char *a = e->currentAction();
  if (a && (std::strcmp(a, kOfxActionCreateInstance) == 0 ||
            std::strcmp(a, kOfxActionDestroyInstance) == 0))
    return;
  e->paramChanged(p.name(), kOfxChangePluginEdited, e->currentTime, RenderScale{});
}

OfxStatus paramSetValue(OfxParamHandle h, ...) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  if (OfxStatus st = checkSettable(*p)) return st;
  va_list ap;
  va_start(ap, h);
  const ParamValue v = readValue(*p, ap);
  va_end(ap);
  if (p->keys().empty())
    p->setValue(v);
  else
    p->setKey(p->owner()->currentTime, v);  // an animated param gets a key, as with autokey
  notifyPluginEdit(*p);
  return kOfxStatOK;
}

OfxStatus paramSetValueAtTime(OfxParamHandle h, OfxTime time, ...) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  if (OfxStatus st = checkSettable(*p)) return st;
  va_list ap;
  va_start(ap, time);
  const ParamValue v = readValue(*p, ap);
  va_end(ap);
  p->setKey(time, v);
  notifyPluginEdit(*p);
  return kOfxStatOK;
}

OfxStatus paramGetNumKeys(OfxParamHandle h, unsigned int *n) {
  Param *p = Param::fromHandle(h);
  if (!p || !n) return kOfxStatErrBadHandle;
  *n = static_cast<unsigned>(p->keys().size());
  return kOfxStatOK;
}

OfxStatus paramGetKeyTime(OfxParamHandle h, unsigned int nth, OfxTime *time) {
  Param *p = Param::fromHandle(h);
  if (!p || !time) return kOfxStatErrBadHandle;
  if (nth >= p->keys().size()) return kOfxStatErrBadIndex;
  auto it = p->keys().begin();
  std::advance(it, nth);
  *time = it->first;
  return kOfxStatOK;
}

OfxStatus paramGetKeyIndex(OfxParamHandle h, OfxTime time, int direction, int *index) {
  Param *p = Param::fromHandle(h);
  if (!p || !index) return kOfxStatErrBadHandle;
  int i = 0, found = -1;
  for (const auto &k : p->keys()) {
    if (direction == 0 && k.first == time) found = i;
    if (direction < 0 && k.first < time) found = i;
    if (direction > 0 && k.first > time && found < 0) found = i;
    ++i;
  }
  if (found < 0) return kOfxStatFailed;
  *index = found;
  return kOfxStatOK;
}

OfxStatus paramDeleteKey(OfxParamHandle h, OfxTime time) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  return p->deleteKey(time) ? kOfxStatOK : kOfxStatErrBadIndex;
}

OfxStatus paramDeleteAllKeys(OfxParamHandle h) {
  Param *p = Param::fromHandle(h);
  if (!p) return kOfxStatErrBadHandle;
  p->deleteAllKeys();
  return kOfxStatOK;
}

OfxStatus paramCopy(OfxParamHandle to, OfxParamHandle from, OfxTime offset,
                    const OfxRangeD *range) {
  Param *t = Param::fromHandle(to), *f = Param::fromHandle(from);
  if (!t || !f || t->type().ofxName != f->type().ofxName) return kOfxStatErrBadHandle;
  t->copyFrom(*f, offset, range);
  return kOfxStatOK;
}

OfxStatus paramEditBegin(OfxParamSetHandle h, const char *) {
  return ParamSet::fromHandle(h) ? kOfxStatOK : kOfxStatErrBadHandle;
}
OfxStatus paramEditEnd(OfxParamSetHandle h) {
  return ParamSet::fromHandle(h) ? kOfxStatOK : kOfxStatErrBadHandle;
}

const OfxParameterSuiteV1 kParameterSuite = {
    paramDefine,      paramGetHandle,      paramSetGetPropertySet, paramGetPropertySet,
    paramGetValue,    paramGetValueAtTime, paramGetDerivative,     paramGetIntegral,
    paramSetValue,    paramSetValueAtTime, paramGetNumKeys,        paramGetKeyTime,
    paramGetKeyIndex, paramDeleteKey,      paramDeleteAllKeys,     paramCopy,
    paramEditBegin,   paramEditEnd,
};

// ---- memory suite
// ---------------------------------------------------------------------------------

std::mutex gMemoryMutex;
std::map<void *, size_t> gMemory;

OfxStatus memoryAlloc(void *, size_t n, void **data) {
  if (!data) return kOfxStatErrBadHandle;
  void *p = std::aligned_alloc(64, (n + 63) / 64 * 64 + 64);
  if (!p) return kOfxStatErrMemory;
  std::lock_guard<std::mutex> lock(gMemoryMutex);
  gMemory[p] = n;
  *data = p;
  return kOfxStatOK;
}

OfxStatus memoryFree(void *data) {
  std::lock_guard<std::mutex> lock(gMemoryMutex);
  if (!gMemory.erase(data)) return kOfxStatErrBadHandle;  // not ours: never free it
  std::free(data);
  return kOfxStatOK;
}

const OfxMemorySuiteV1 kMemorySuite = {memoryAlloc, memoryFree};

// ---- multithread suite
// ------------------------------------------------------------------------------

thread_local unsigned tThreadIndex = 0;
thread_local bool tSpawned = false;

OfxStatus multiThread(OfxThreadFunctionV1 func, unsigned int n, void *arg) {
  if (!func) return kOfxStatErrBadHandle;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  std::vector<OfxStatus> results(n, kOfxStatOK);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      tThreadIndex = i;
      tSpawned = true;
      results[i] = func(i, n, arg);
    });
  }
  for (auto &t : threads) t.join();
  for (OfxStatus st : results) {
    if (st != kOfxStatOK) return kOfxStatFailed;
  }
  return kOfxStatOK;
}

OfxStatus multiThreadNumCPUs(unsigned int *n) {
  if (!n) return kOfxStatErrBadHandle;
  *n = std::max(1u, std::thread::hardware_concurrency());
  return kOfxStatOK;
}

OfxStatus multiThreadIndex(unsigned int *i) {
  if (!i) return kOfxStatErrBadHandle;
  *i = tThreadIndex;
  return kOfxStatOK;
}

int multiThreadIsSpawnedThread() { return tSpawned ? 1 : 0; }

struct HostMutex {
  std::recursive_mutex m;
};

OfxStatus mutexCreate(OfxMutexHandle *mutex, int lockCount) {
  if (!mutex) return kOfxStatErrBadHandle;
  auto *m = new HostMutex;
  for (int i = 0; i < lockCount; ++i) m->m.lock();
  Registry<HostMutex>::add(m);
  *mutex = reinterpret_cast<OfxMutexHandle>(m);
  return kOfxStatOK;
}

OfxStatus mutexDestroy(const OfxMutexHandle mutex) {
  HostMutex *m = Registry<HostMutex>::find(mutex);
  if (!m) return kOfxStatErrBadHandle;
  Registry<HostMutex>::remove(m);
  delete m;
  return kOfxStatOK;
}

OfxStatus mutexLock(const OfxMutexHandle mutex) {
  HostMutex *m = Registry<HostMutex>::find(mutex);
  if (!m) return kOfxStatErrBadHandle;
  m->m.lock();
  return kOfxStatOK;
}

OfxStatus mutexUnLock(const OfxMutexHandle mutex) {
  HostMutex *m = Registry<HostMutex>::find(mutex);
  if (!m) return kOfxStatErrBadHandle;
  m->m.unlock();
  return kOfxStatOK;
}

OfxStatus mutexTryLock(const OfxMutexHandle mutex) {
  HostMutex *m = Registry<HostMutex>::find(mutex);
  if (!m) return kOfxStatErrBadHandle;
  return m->m.try_lock() ? kOfxStatOK : kOfxStatFailed;
}

const OfxMultiThreadSuiteV1 kMultiThreadSuite = {
    multiThread,  multiThreadNumCPUs, multiThreadIndex, multiThreadIsSpawnedThread,
    mutexCreate,  mutexDestroy,       mutexLock,        mutexUnLock,
    mutexTryLock,
};

// ---- message suite (v1 is the first member of v2)
// ---------------------------------------------------

std::string format(const char *fmt, va_list ap) {
  if (!fmt) return "";
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n < 0) return fmt;
  std::vector<char> buf(static_cast<size_t>(n) + 1);
  std::vsnprintf(buf.data(), buf.size(), fmt, ap);
  return std::string(buf.data(), static_cast<size_t>(n));
}

Message makeMessage(const char *type, const char *id, const char *fmt, va_list ap) {
  return Message{type ? type : "", id ? id : "", format(fmt, ap)};
}

void print(Effect *e, const Message &m, const char *kind) {
  std::fprintf(stderr, "[ofxhost] %s%s %s%s%s: %s\n", e ? e->what().c_str() : "plugin", kind,
               m.type.c_str(), m.id.empty() ? "" : " ", m.id.c_str(), m.text.c_str());
}

OfxStatus message(void *handle, const char *type, const char *id, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const Message m = makeMessage(type, id, fmt, ap);
  va_end(ap);
  Effect *e = Effect::fromHandle(handle);
  if (e)
    e->recordMessage(m);
  else
    recordGlobalMessage(m);
  print(e, m, "");
  // A background host cannot ask the user: questions get the default answer.
  return m.type == kOfxMessageQuestion ? kOfxStatReplyDefault : kOfxStatOK;
}

OfxStatus setPersistentMessage(void *handle, const char *type, const char *id, const char *fmt,
                               ...) {
  va_list ap;
  va_start(ap, fmt);
  const Message m = makeMessage(type, id, fmt, ap);
  va_end(ap);
  Effect *e = Effect::fromHandle(handle);
  if (!e) return kOfxStatErrBadHandle;
  e->recordMessage(m);
  e->setPersistent(m);
  print(e, m, " (persistent)");
  return kOfxStatOK;
}

OfxStatus clearPersistentMessage(void *handle) {
  Effect *e = Effect::fromHandle(handle);
  if (!e) return kOfxStatErrBadHandle;
  e->clearPersistent();
  return kOfxStatOK;
}

const OfxMessageSuiteV2 kMessageSuite = {message, setPersistentMessage, clearPersistentMessage};

// ---- progress suite
// ---------------------------------------------------------------------------------

OfxStatus progressStart(void *handle, const char *) {
  Effect *e = Effect::fromHandle(handle);
  if (!e) return kOfxStatErrBadHandle;
  e->progressStarted();
  return kOfxStatOK;
}

OfxStatus progressUpdate(void *handle, double fraction) {
  Effect *e = Effect::fromHandle(handle);
  if (!e) return kOfxStatErrBadHandle;
  return e->progressUpdated(fraction) ? kOfxStatOK : kOfxStatReplyNo;
}

OfxStatus progressEnd(void *handle) {
  Effect *e = Effect::fromHandle(handle);
  if (!e) return kOfxStatErrBadHandle;
  e->progressEnded();
  return kOfxStatOK;
}

const OfxProgressSuiteV1 kProgressSuite = {progressStart, progressUpdate, progressEnd};

// ---- host
// -------------------------------------------------------------------------------------------

std::mutex gSuiteMutex;
Json gSuiteRequests = Json::array();

const void *fetchSuite(OfxPropertySetHandle host, const char *name, int version) {
  const void *suite = nullptr;
  if (host == hostProperties().handle() && name) {
    const std::string n = name;
    if (n == kOfxPropertySuite && version == 1)
      suite = &kPropertySuite;
    else if (n == kOfxImageEffectSuite && version == 1)
      suite = &kImageEffectSuite;
    else if (n == kOfxParameterSuite && version == 1)
      suite = &kParameterSuite;
    else if (n == kOfxMemorySuite && version == 1)
      suite = &kMemorySuite;
    else if (n == kOfxMultiThreadSuite && version == 1)
      suite = &kMultiThreadSuite;
    else if (n == kOfxMessageSuite && (version == 1 || version == 2))
      suite = &kMessageSuite;
    else if (n == kOfxProgressSuite && version == 1)
      suite = &kProgressSuite;
  }
  std::lock_guard<std::mutex> lock(gSuiteMutex);
  Json r = Json::object();
  r["suite"] = name ? name : "";
  r["version"] = version;
  r["served"] = suite != nullptr;
  gSuiteRequests.push(std::move(r));
  return suite;
}

}  // namespace

PropertySet &hostProperties() {
  static PropertySet *props = new PropertySet("host", /*pluginWritable=*/false, /*open=*/false);
  return *props;
}

OfxHost *ofxHost(const HostSettings &settings) {
  static OfxHost host{nullptr, fetchSuite};
  PropertySet &p = hostProperties();
  host.host = p.handle();
  p.setString(kOfxPropType, kOfxTypeImageEffectHost);
  p.setString(kOfxPropName, "org.neuralstyle.ofxhost");
  p.setString(kOfxPropLabel, "neuralstyle ofxhost");
  p.setInt(kOfxPropVersion, std::vector<int>{0, 1, 0});
  p.setString(kOfxPropVersionLabel, "0.1.0");
  p.setInt(kOfxPropAPIVersion, std::vector<int>{1, 5});
  p.setPointer(kOfxPropHostOSHandle, nullptr);
  p.setInt(kOfxImageEffectHostPropIsBackground, 1);
  p.setInt(kOfxImageEffectPropSupportsOverlays, 0);
  p.setInt(kOfxImageEffectPropSupportsMultiResolution, 1);
  p.setInt(kOfxImageEffectPropSupportsTiles, 1);
  p.setInt(kOfxImageEffectPropTemporalClipAccess, settings.temporalAccess ? 1 : 0);
  gTemporalAccess = settings.temporalAccess;
  p.setString(kOfxImageEffectPropSupportedComponents,
              std::vector<std::string>{kOfxImageComponentRGBA, kOfxImageComponentRGB,
                                       kOfxImageComponentAlpha});
  p.setString(
      kOfxImageEffectPropSupportedContexts,
      std::vector<std::string>{kOfxImageEffectContextFilter, kOfxImageEffectContextGeneral});
  p.setString(kOfxImageEffectPropSupportedPixelDepths,
              std::vector<std::string>{kOfxBitDepthByte, kOfxBitDepthShort, kOfxBitDepthHalf,
                                       kOfxBitDepthFloat});
  p.setInt(kOfxImageEffectPropSupportsMultipleClipDepths, 1);
  p.setInt(kOfxImageEffectPropSupportsMultipleClipPARs, 0);
  p.setInt(kOfxImageEffectPropSetableFrameRate, 0);
  p.setInt(kOfxImageEffectPropSetableFielding, 0);
  p.setInt(kOfxImageEffectInstancePropSequentialRender, 1);
  p.setString(kOfxImageEffectHostPropNativeOrigin, kOfxHostNativeOriginBottomLeft);
  p.setInt(kOfxParamHostPropSupportsCustomInteract, 0);
  p.setInt(kOfxParamHostPropSupportsStringAnimation, 1);
  p.setInt(kOfxParamHostPropSupportsChoiceAnimation, 1);
  p.setInt(kOfxParamHostPropSupportsBooleanAnimation, 1);
  p.setInt(kOfxParamHostPropSupportsCustomAnimation, 0);
  p.setInt(kOfxParamHostPropSupportsParametricAnimation, 0);
  p.setInt(kOfxParamHostPropMaxParameters, -1);
  p.setInt(kOfxParamHostPropMaxPages, 0);
  p.setInt(kOfxParamHostPropPageRowColumnCount, std::vector<int>{0, 0});
  p.setString(kOfxImageEffectPropOpenGLRenderSupported, "false");
  p.setString(kOfxImageEffectPropCudaRenderSupported, settings.cudaRender ? "true" : "false");
  p.setString(kOfxImageEffectPropCudaStreamSupported, settings.cudaRender ? "true" : "false");
  p.setString(kOfxImageEffectPropMetalRenderSupported, "false");
  p.setString(kOfxImageEffectPropOpenCLRenderSupported, "false");
  return &host;
}

Json suiteRequests() {
  std::lock_guard<std::mutex> lock(gSuiteMutex);
  return gSuiteRequests;
}

size_t outstandingMemoryBlocks() {
  std::lock_guard<std::mutex> lock(gMemoryMutex);
  return gMemory.size();
}

}  // namespace ofxhost
