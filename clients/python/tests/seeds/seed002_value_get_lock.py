# Seed 002 (/work/shared/seeds/002_2032ce103db89ac9.txt), the Value example
# with its fix (`with val.get_lock():`), on a Manager Value: ten processes
# add 1 ten times each under the value's lock; a correct run prints 100.
# The seed's program uses multiprocessing.Value (shared memory); this is the
# same program with the Value from a Manager, which mpstore gives a
# get_lock() as multiprocessing.Value has.
# seed import: from multiprocessing import Manager
import time
import multiprocessing
from mpstore import Manager

def fun(val):
    for i in range(10):
        time.sleep(0.05)
        with val.get_lock():  # 必须获取锁
            val.value += 1

if __name__ == '__main__':
    m = Manager()
    v = m.Value('i', 0)
    p_list = [multiprocessing.Process(target=fun, args=(v, )) for i in range(10)]
    for p in p_list:
        p.start()

    for p in p_list:
        p.join()

    print(v.value)
