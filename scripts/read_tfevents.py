#!/usr/bin/python3
"""Print the scalars of TensorBoard event files as JSON, read independently of ssl-bench's writer.

    /usr/bin/python3 scripts/read_tfevents.py RUN_DIR/events.out.tfevents.*

With TensorBoard installed, its own loader reads the files (tensorboard.backend.event_processing.
event_file_loader, which checks the record CRCs); otherwise this script's TFRecord reader (bitwise
CRC-32C, masked as tensorflow/core/lib/hash/crc32c.h Mask does) and the Event / Summary messages
declared here from tensorflow/core/util/event.proto and framework/summary.proto, decoded by the
protobuf library (python3-protobuf). Output: {"reader": ..., "files": [{"file", "events": [...]}]},
each event {wall_time, step, file_version} or {wall_time, step, scalars: {tag: value}}.
"""
import json
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    from google.protobuf import descriptor_pb2, descriptor_pool
    try:
        from google.protobuf.message_factory import GetMessageClass
    except ImportError:  # protobuf < 4.21
        from google.protobuf import message_factory
        GetMessageClass = message_factory.MessageFactory().GetPrototype
    F = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(name='ssl_bench_check/event.proto', package='ssl_bench_check', syntax='proto3')

    def msg(name, fields, oneofs=()):
        m = f.message_type.add(name=name)
        for o in oneofs:
            m.oneof_decl.add(name=o)
        for (fname, number, ftype, label, type_name, oneof) in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = type_name
            if oneof is not None:
                fd.oneof_index = oneof
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    msg('Value', [('node_name', 7, F.TYPE_STRING, opt, None, None), ('tag', 1, F.TYPE_STRING, opt, None, None),
                  ('simple_value', 2, F.TYPE_FLOAT, opt, None, 0)], oneofs=['value'])
    msg('Summary', [('value', 1, F.TYPE_MESSAGE, rep, '.ssl_bench_check.Value', None)])
    msg('Event', [('wall_time', 1, F.TYPE_DOUBLE, opt, None, None), ('step', 2, F.TYPE_INT64, opt, None, None),
                  ('file_version', 3, F.TYPE_STRING, opt, None, 0), ('graph_def', 4, F.TYPE_BYTES, opt, None, 0),
                  ('summary', 5, F.TYPE_MESSAGE, opt, '.ssl_bench_check.Summary', 0)], oneofs=['what'])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return GetMessageClass(pool.FindMessageTypeByName('ssl_bench_check.Event'))


def records(path):
    with open(path, 'rb') as fh:
        blob = fh.read()
    at = 0
    while at < len(blob):
        header = blob[at:at + 12]
        if len(header) < 12:
            raise SystemExit(f'{path}: truncated record header at byte {at}')
        (length,), (length_crc,) = struct.unpack('<Q', header[:8]), struct.unpack('<I', header[8:])
        if masked(crc32c(header[:8])) != length_crc:
            raise SystemExit(f'{path}: bad length CRC at byte {at}')
        data = blob[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack('<I', blob[at + 12 + length:at + 16 + length])
        if masked(crc32c(data)) != data_crc:
            raise SystemExit(f'{path}: bad data CRC at byte {at}')
        yield data
        at += 16 + length


def as_dict(event):
    out = {'wall_time': event.wall_time, 'step': event.step}
    if event.WhichOneof('what') == 'file_version':
        out['file_version'] = event.file_version
    elif event.WhichOneof('what') == 'summary':
        out['scalars'] = {v.tag: v.simple_value for v in event.summary.value}
    return out


def main():
    try:
        from tensorboard.backend.event_processing import event_file_loader
        reader = 'tensorboard'
        read = lambda path: [as_dict(e) for e in event_file_loader.LegacyEventFileLoader(path).Load()]
    except ImportError:
        Event = event_class()
        reader = 'protobuf'
        read = lambda path: [as_dict(Event.FromString(data)) for data in records(path)]
    json.dump({'reader': reader, 'files': [{'file': p, 'events': read(p)} for p in sys.argv[1:]]}, sys.stdout)
    print()


if __name__ == '__main__':
    main()
