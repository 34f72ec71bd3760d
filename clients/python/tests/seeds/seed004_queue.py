# Seed 004 (/work/shared/seeds/004_5c2d87096278fe42.txt), "1.3 使用queues的
# Queue类共享数据" (In [4]), with the queue from a Manager: a queue holds 0;
# ten processes each take a value and put their number. The seed's version
# uses multiprocessing.queues.Queue and does not join its processes (a
# Manager is shut down at exit before children are joined, so this one
# joins them).
# seed import: from multiprocessing import Manager
import multiprocessing
from multiprocessing import Process
from mpstore import Manager

def func(i, q):
    ret = q.get()
    print("进程%s从队列里获取了一个%s，然后又向队列里放入了一个%s" % (i, ret, i))
    q.put(i)

if __name__ == "__main__":
    lis = Manager().Queue(20)
    lis.put(0)
    ps = []
    for i in range(10):
        p = Process(target=func, args=(i, lis,))
        p.start()
        ps.append(p)
    for p in ps:
        p.join()
