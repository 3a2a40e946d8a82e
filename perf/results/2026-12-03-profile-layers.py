#!/usr/bin/env python3
"""Sorts async-profiler collapsed stacks into layers, in µs a request, side by side.

    perf/results/2026-12-03-profile-layers.py OUT1 US1 [OUT2 US2 ...]

OUTn is an itimer (CPU) file from perf/results/2026-12-03-async-profile.sh (an alloc profile's bytes are no µs),
USn the CPU µs a request its run measured (its cpu
ticks × 10,000 / (req/s × 20)). A sample belongs to a system call when its deepest Java frame is Netty's native
socket or epoll call; otherwise to the layer of its deepest frame that has one (Switchboard, the event bus, futures,
Jackson, ...), so a layer's figure is the time spent in it and in what it calls that has no layer of its own
(the JDK's maps, say). Threads other than Java ones are the JIT compiler's or "other threads"; stacks async-profiler
could not walk ("[unknown_Java]", ...) are "unwalked".
"""
import collections
import sys

LAYERS = [
    ('io/switchboard', 'switchboard'), ('io/vertx/core/eventbus', 'vertx eventbus'),
    ('io/vertx/core/impl/future', 'vertx futures'), ('io/vertx/core/Future', 'vertx futures'),
    ('io/vertx/core/Promise', 'vertx futures'), ('io/vertx/core/internal/PromiseInternal', 'vertx futures'),
    ('com/fasterxml', 'jackson'), ('io/vertx/core/json', 'vertx json'), ('io/vertx/ext/web', 'vertx-web'),
    ('io/micrometer', 'micrometer'), ('org/HdrHistogram', 'micrometer'), ('io/vertx/core/http', 'vertx http'),
    ('io/netty/handler/codec/http', 'netty http codec'), ('io/vertx/core/net', 'vertx net'),
    ('io/vertx/core/impl', 'vertx core impl'), ('io/vertx/core/internal', 'vertx internal'), ('io/netty', 'netty'),
    ('java/', 'jdk'), ('jdk/', 'jdk'),
]
SYSCALL_FRAMES = ('io/netty/channel/unix/', 'io/netty/channel/epoll/Native', 'io/netty/channel/epoll/LinuxSocket')


def layer(frames):
    if frames[0].startswith('['):
        return 'unwalked'
    if frames[0] != 'java/lang/Thread.run':
        return 'JIT compiler' if any('CompileBroker::' in f for f in frames) else 'other threads'
    for i in range(len(frames) - 1, -1, -1):
        if frames[i].startswith(SYSCALL_FRAMES):
            if i < len(frames) - 1 and '/' not in frames[i + 1]:
                return 'system calls'
            break
    for frame in reversed(frames):
        for prefix, name in LAYERS:
            if frame.startswith(prefix):
                return name
    return 'unknown'


def read(path, us_per_request):
    samples = collections.Counter()
    for line in open(path):
        stack, count = line.rstrip('\n').rsplit(' ', 1)
        samples[layer(stack.split(';'))] += int(count)
    total = sum(samples.values())
    if total == 0:
        sys.exit(path + ': no samples')
    return {name: count / total * us_per_request for name, count in samples.items()}


def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    runs = [read(args[i], float(args[i + 1])) for i in range(0, len(args), 2)]
    names = sorted(set().union(*runs), key=lambda n: -runs[-1].get(n, 0))
    print('%-18s' % 'µs a request' + ''.join('%12s' % args[i].rsplit('/', 1)[-1][:11] for i in range(0, len(args), 2)))
    for name in names:
        print('%-18s' % name + ''.join('%12.1f' % run.get(name, 0) for run in runs))
    print('%-18s' % 'total' + ''.join('%12.1f' % sum(run.values()) for run in runs))


if __name__ == '__main__':
    main(sys.argv[1:])
