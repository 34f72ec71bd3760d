# Seed 001 (/work/shared/seeds/001_975e2e899e9d6ab2.txt), the "Manager"
# example: 100 processes add 1 to a Manager Value under a Lock. The seed's
# markdown mangled the code block; this is its text re-indented, otherwise
# verbatim but for the import line. It relies on fork: the processes use
# the module-level `sum` they inherit (under spawn each child would make a
# Manager of its own, with Python's Manager as with mpstore's).
# seed import: from multiprocessing import Process, Manager, Lock
import os
from multiprocessing import Process, Lock
from mpstore import Manager

lock = Lock()
manager = Manager()
sum = manager.Value('tmp', 0)

def testFunc(cc, lock):
    with lock:
        sum.value += cc

if __name__ == '__main__':
    threads = []

    for ll in range(100):
        t = Process(target=testFunc, args=(1, lock))
        t.daemon = True
        threads.append(t)

    for i in range(len(threads)):
        threads[i].start()

    for j in range(len(threads)):
        threads[j].join()

    print("------------------------")
    print('process id:', os.getpid())
    print(sum.value)
