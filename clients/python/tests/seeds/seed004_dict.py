# Seed 004 (/work/shared/seeds/004_5c2d87096278fe42.txt), "1.2 使用Manager共享
# 数据" (In [3]): ten processes, one after the other, set dic["num"].
# Verbatim but for the import line.
# seed import: from multiprocessing import Manager
from multiprocessing import Process
from mpstore import Manager

def func(i, dic):
    dic["num"] = 100+i
    print(dic.items())

if __name__ == '__main__':
    dic = Manager().dict()
    for i in range(10):
        p = Process(target=func, args=(i, dic))
        p.start()
        p.join()
