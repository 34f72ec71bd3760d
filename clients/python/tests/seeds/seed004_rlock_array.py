# Seed 004 (/work/shared/seeds/004_5c2d87096278fe42.txt), "2. 进程锁" (In [5]),
# with the Array and RLock from a Manager: ten processes each take the lock,
# decrement element 0 of an array holding 10 and print it ("say hi 9" ...
# "say hi 0"). The seed's version uses shared-memory Array and RLock and
# does not join its processes (this one does; the sleep is shortened).
# seed import: from multiprocessing import Manager
from multiprocessing import Process
from mpstore import Manager
import time

def func(i,lis,lc):
    lc.acquire()
    lis[0] = lis[0] - 1
    time.sleep(0.1)
    print('say hi', lis[0])
    lc.release()

if __name__ == "__main__":
    m = Manager()
    array = m.Array('i', [0])
    array[0] = 10
    lock = m.RLock()
    ps = []
    for i in range(10):
        p = Process(target=func, args=(i, array, lock))
        p.start()
        ps.append(p)
    for p in ps:
        p.join()
